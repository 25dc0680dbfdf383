#!/usr/bin/env bash
# Installs what the real e2e test host needs, only what is missing, and says what it did.
# Idempotent, and quick when everything is there. Run as root (CI runs as root).
# Usage: bash test/e2e/install-deps.sh [--with-chromium] [--optional]
#
# - Debian packages: openssh-server/-client, nginx, openssl, gettext-base, git, busybox-static (the base
#   image of the test containers is made from this machine's nginx, envsubst, printenv and busybox),
#   and docker.io: Debian 12's Docker Engine (dockerd, containerd, runc, the docker client).
# - Compose v2: Debian 12 has only Compose v1, so the docker-compose package of Debian 13 (trixie) is
#   fetched with apt through a sources list of its own (private lists and cache directories, the
#   machine's apt configuration untouched), unpacked with dpkg -x, and its cli-plugins/docker-compose
#   copied to /usr/local/lib/docker/cli-plugins. Nothing else of Debian 13 is installed.
# No service is started: a policy-rc.d keeps the packages' sshd, nginx and dockerd from starting.
# The tests start their own dockerd, on a socket and directories of their own.
#
# --optional (npm test uses it): when something cannot be installed (not root, no mirror), say why and
# exit 0; the real-host tests then skip with their reason outside CI. Without it (CI), any failure exits 1.
set -euo pipefail

want=(
  /usr/sbin/sshd:openssh-server
  /usr/bin/ssh:openssh-client
  /usr/bin/ssh-keygen:openssh-client
  /usr/sbin/nginx:nginx
  /usr/bin/openssl:openssl
  /usr/bin/envsubst:gettext-base
  /usr/bin/printenv:coreutils
  /usr/bin/git:git
  /usr/bin/mkfifo:coreutils
  /usr/sbin/useradd:passwd
  # the remote user's login shell varies per e2e case (cli-shells.test.ts)
  /usr/bin/dash:dash
  /usr/bin/zsh:zsh
  /usr/bin/fish:fish
  /bin/busybox:busybox-static
  /usr/sbin/dockerd:docker.io
  /usr/bin/docker:docker.io
  # the CLI's terminal tests: a real pty (script) and the live task list (tmux)
  /usr/bin/script:bsdutils
  /usr/bin/tmux:tmux
)
optional=""
for arg in "$@"; do
  case "$arg" in
    --with-chromium) want+=(/usr/bin/chromium:chromium) ;;
    --optional) optional=1 ;;
    *) echo "e2e deps: unknown option $arg" >&2; exit 64 ;;
  esac
done

# Where Compose v2 goes: a system cli-plugins directory every docker client searches.
PLUGIN_DIR=/usr/local/lib/docker/cli-plugins
PLUGIN=$PLUGIN_DIR/docker-compose
# apt's private state for the Debian 13 fetch.
TRIXIE_DIR=/var/cache/apply-ws-fix-e2e/apt-trixie

give_up() {
  echo "e2e deps: $1" >&2
  if [[ -n "$optional" ]]; then
    echo "e2e deps: going on without them: the real-host e2e tests will be skipped" >&2
    exit 0
  fi
  exit 1
}

missing=()
for entry in "${want[@]}"; do
  bin=${entry%%:*}
  pkg=${entry##*:}
  if [[ ! -x "$bin" ]] && [[ ! " ${missing[*]} " == *" $pkg "* ]]; then
    missing+=("$pkg")
  fi
done
compose_ok=""
if [[ -x "$PLUGIN" ]] && "$PLUGIN" version >/dev/null 2>&1; then compose_ok=1; fi

if [[ ${#missing[@]} -eq 0 && -n "$compose_ok" ]]; then
  echo "e2e deps: all present (openssh, nginx, openssl, gettext-base, git, dash, zsh, fish, busybox, docker.io $(dockerd --version 2>/dev/null | sed -n 's/^Docker version \([^,]*\).*/\1/p'), $("$PLUGIN" version 2>/dev/null))"
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  lacking=("${missing[@]}")
  if [[ -z "$compose_ok" ]]; then lacking+=("Compose v2 ($PLUGIN)"); fi
  give_up "missing ${lacking[*]}; run this script as root"
fi

# Keep the packages' own services from starting (they would listen on :22 and :80, and dockerd on
# /var/run/docker.sock with a bridge network).
created_policy=""
if [[ ! -e /usr/sbin/policy-rc.d ]]; then
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod 755 /usr/sbin/policy-rc.d
  created_policy=1
fi
cleanup() { if [[ -n "$created_policy" ]]; then rm -f /usr/sbin/policy-rc.d; fi; }
trap cleanup EXIT
export DEBIAN_FRONTEND=noninteractive

if [[ ${#missing[@]} -gt 0 ]]; then
  echo "e2e deps: installing ${missing[*]}"
  apt-get update -qq || give_up "apt-get update failed"
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || give_up "apt-get install ${missing[*]} failed"
  echo "e2e deps: installed ${missing[*]}"
fi

if [[ -z "$compose_ok" ]]; then
  echo "e2e deps: fetching Compose v2 (Debian 13's docker-compose package, nothing else of Debian 13)"
  # The mirror the machine's own sources use (deb822 or one-line format), else Debian's.
  mirror=$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\).*/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v security | head -n1 || true)
  if [[ -z "$mirror" ]]; then
    mirror=$(sed -n 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]*\).*/\2/p' /etc/apt/sources.list 2>/dev/null | grep -v security | head -n1 || true)
  fi
  mirror=${mirror:-http://deb.debian.org/debian}
  keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  mkdir -p "$TRIXIE_DIR/lists/partial" "$TRIXIE_DIR/cache/archives/partial" "$TRIXIE_DIR/parts" "$TRIXIE_DIR/unpacked"
  echo "deb [signed-by=$keyring] $mirror trixie main" >"$TRIXIE_DIR/sources.list"
  apt_trixie=(
    -o "Dir::Etc::SourceList=$TRIXIE_DIR/sources.list"
    -o "Dir::Etc::SourceParts=$TRIXIE_DIR/parts"
    -o "Dir::State::Lists=$TRIXIE_DIR/lists"
    -o "Dir::Cache=$TRIXIE_DIR/cache"
    -o "APT::Architecture=amd64"
  )
  apt-get -qq "${apt_trixie[@]}" update || give_up "apt-get update of the trixie sources list failed (mirror $mirror)"
  rm -f "$TRIXIE_DIR"/docker-compose_*.deb
  if id _apt >/dev/null 2>&1; then chown _apt "$TRIXIE_DIR"; fi
  (cd "$TRIXIE_DIR" && apt-get -qq "${apt_trixie[@]}" download docker-compose) || give_up "apt-get download docker-compose (trixie) failed"
  deb=$(ls "$TRIXIE_DIR"/docker-compose_*.deb 2>/dev/null | head -n1 || true)
  [[ -n "$deb" ]] || give_up "apt-get download docker-compose left no .deb in $TRIXIE_DIR"
  rm -rf "$TRIXIE_DIR/unpacked" && mkdir -p "$TRIXIE_DIR/unpacked"
  dpkg -x "$deb" "$TRIXIE_DIR/unpacked"
  src="$TRIXIE_DIR/unpacked/usr/libexec/docker/cli-plugins/docker-compose"
  [[ -x "$src" ]] || give_up "$(basename "$deb") holds no usr/libexec/docker/cli-plugins/docker-compose"
  install -D -m 755 "$src" "$PLUGIN"
  rm -rf "$TRIXIE_DIR/unpacked"
  "$PLUGIN" version >/dev/null 2>&1 || give_up "$PLUGIN does not run"
  echo "e2e deps: installed $("$PLUGIN" version) as $PLUGIN (from $(basename "$deb"))"
fi
