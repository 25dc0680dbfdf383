#!/usr/bin/env bash
# Makes docs/demo.png, the README's picture of a run: a real `apply-ws-fix --demo` in a real terminal (tmux),
# captured with its colours, turned into HTML by aha and photographed by headless Chromium.
# Idempotent: run it again whenever the output changes. Usage: bash scripts/screenshot.sh [OUT.png]
# As root it installs what is missing (tmux, aha, chromium, a monospace font, pngquant) with apt-get; otherwise it
# names them.
# Environment: SCREENSHOT_COLS (default 120) and SCREENSHOT_ROWS (default 70) size the terminal.
set -euo pipefail

root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
out=${1:-$root/docs/demo.png}
cols=${SCREENSHOT_COLS:-120}
rows=${SCREENSHOT_ROWS:-70}
font_px=14
line_px=18
pad_px=16

say() { printf 'screenshot: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

# --- what it needs: command (or file) → Debian package
want=(tmux:tmux aha:aha chromium:chromium /usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf:fonts-dejavu-core pngquant:pngquant)
missing=()
for entry in "${want[@]}"; do
  what=${entry%%:*}
  pkg=${entry##*:}
  if [[ $what == /* ]]; then [[ -e $what ]] && continue; else command -v "$what" >/dev/null && continue; fi
  missing+=("$pkg")
done
if ((${#missing[@]} > 0)); then
  if [[ $(id -u) -ne 0 ]]; then
    die "missing ${missing[*]}; install them (sudo apt-get install ${missing[*]}) or run this script as root"
  fi
  say "installing ${missing[*]} with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- the built CLI, rebuilt when a source is newer than it
cd -- "$root"
cli=dist/src/cli.js
if [[ ! -f $cli ]] || [[ -n $(find src runbooks -name '*.ts' -newer "$cli" -print -quit) ]]; then
  [[ -d node_modules ]] || { say "installing the dependencies (npm ci)"; npm ci --no-audit --no-fund; }
  say "building (npm run build)"
  npm run build --silent
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/apply-ws-fix-screenshot.XXXXXX")
socket="apply-ws-fix-screenshot-$$"
cleanup() {
  tmux -L "$socket" kill-server 2>/dev/null || true
  rm -rf -- "$work"
}
trap cleanup EXIT

# --- the run, in a terminal of its own (a private tmux server, no user config)
say "running apply-ws-fix --demo in a ${cols}x${rows} tmux terminal"
printf '%s\n' \
  "printf '\$ apply-ws-fix --demo\\n'" \
  "node $(printf '%q' "$root/$cli") --demo" \
  "echo \$? > $(printf '%q' "$work/rc")" \
  "sleep 600" >"$work/run.sh"
env -u NO_COLOR -u FORCE_COLOR -u TMUX tmux -L "$socket" -f /dev/null \
  new-session -d -s demo -x "$cols" -y "$rows" -c "$root" "bash $(printf '%q' "$work/run.sh")"
for _ in $(seq 240); do
  [[ -s $work/rc ]] && break
  sleep 0.5
done
[[ -s $work/rc ]] || die "the demo did not finish within 120 s"
# The whole pane, history included, with its colours (-e); the trailing blank rows dropped.
tmux -L "$socket" capture-pane -t demo -p -e -S - -E - | sed -e :a -e '/^[[:space:]]*$/{$d;N;ba' -e '}' >"$work/screen.ansi"
rc=$(cat "$work/rc")
[[ $rc == 0 ]] || die "the demo exited $rc, not 0; docs are not updated. What it printed: $(cat "$work/screen.ansi")"
lines=$(wc -l <"$work/screen.ansi")

# --- the picture: aha turns the SGR colours into classes; a dark terminal palette styles them
{
  cat <<EOF
<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>apply-ws-fix --demo</title><style>
html, body { margin: 0; background: #1d1f21; }
pre { margin: 0; padding: ${pad_px}px; width: ${cols}ch; color: #d8dcd9; white-space: pre;
      font: ${font_px}px/${line_px}px 'DejaVu Sans Mono', monospace; }
.bold { font-weight: bold; } .underline { text-decoration: underline; } .italic { font-style: italic; }
.dimgray { color: #8a8f8c; } .red { color: #f0706a; } .green { color: #8fd16a; } .yellow { color: #f0c674; }
.blue { color: #81a2d6; } .purple { color: #c397d8; } .cyan { color: #70c0b1; } .white { color: #eaeaea; }
.inverted { color: #1d1f21; } .bg-inverted { background: #d8dcd9; }
.bg-red { background: #a54242; } .bg-green { background: #5a7b3a; } .bg-yellow { background: #a07f2e; }
.bg-blue { background: #3d5a8a; } .bg-purple { background: #7a4f86; } .bg-cyan { background: #3f7b73; }
</style></head><body><pre>
EOF
  aha --stylesheet --no-header <"$work/screen.ansi"
  printf '</pre></body></html>\n'
} >"$work/screen.html"

# DejaVu Sans Mono's advance is 0.602 em; the window is the text plus the padding, so nothing scrolls or clips.
width=$(((cols * font_px * 602 + 999) / 1000 + 2 * pad_px))
height=$((lines * line_px + 2 * pad_px))
sandbox=()
[[ $(id -u) -eq 0 ]] && sandbox=(--no-sandbox)
say "rendering ${lines} lines to a ${width}x${height} PNG with headless Chromium"
mkdir -p -- "$(dirname -- "$out")"
if ! chromium --headless "${sandbox[@]}" --disable-gpu --hide-scrollbars --no-first-run --no-default-browser-check \
  --user-data-dir="$work/profile" --force-device-scale-factor=1 --window-size="$width,$height" \
  --screenshot="$work/demo.png" "file://$work/screen.html" >"$work/chromium.log" 2>&1 || [[ ! -s $work/demo.png ]]; then
  cat "$work/chromium.log" >&2
  die "chromium made no screenshot"
fi
# A terminal has few colours: a palette PNG is a third of the size and looks the same (pngquant exits 99 when
# it cannot keep the quality; the full-colour PNG is kept then).
if pngquant --quality 70-100 --speed 1 --strip --force --output "$work/small.png" -- "$work/demo.png"; then
  mv -f -- "$work/small.png" "$work/demo.png"
fi
mv -f -- "$work/demo.png" "$out"
say "wrote ${out#"$root"/} ($(wc -c <"$out") bytes)"
