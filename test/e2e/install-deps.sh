#!/usr/bin/env bash
# Installs the Debian packages the real e2e test host needs, only those missing; says what it did.
# Idempotent. Run as root (CI runs as root). Usage: bash test/e2e/install-deps.sh [--with-chromium] [--optional]
# --optional (npm test uses it): when not root and something is missing, say so and exit 0; the e2e
# tests then skip with the reason (outside CI) instead of the whole test command failing.
# No service is started: a policy-rc.d keeps the packages' sshd/nginx from starting on :22/:80.
set -euo pipefail

want=(
  /usr/sbin/sshd:openssh-server
  /usr/bin/ssh:openssh-client
  /usr/bin/ssh-keygen:openssh-client
  /usr/sbin/nginx:nginx
  /usr/bin/openssl:openssl
  /usr/bin/envsubst:gettext-base
  /usr/bin/git:git
  /usr/bin/mkfifo:coreutils
  /usr/sbin/useradd:passwd
  # the remote user's login shell varies per e2e case (cli-shells.test.ts)
  /usr/bin/dash:dash
  /usr/bin/zsh:zsh
  /usr/bin/fish:fish
)
optional=""
for arg in "$@"; do
  case "$arg" in
    --with-chromium) want+=(/usr/bin/chromium:chromium) ;;
    --optional) optional=1 ;;
    *) echo "e2e deps: unknown option $arg" >&2; exit 64 ;;
  esac
done

missing=()
for entry in "${want[@]}"; do
  bin=${entry%%:*}
  pkg=${entry##*:}
  if [[ ! -x "$bin" ]] && [[ ! " ${missing[*]} " == *" $pkg "* ]]; then
    missing+=("$pkg")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "e2e deps: all present (openssh-server, openssh-client, nginx, openssl, gettext-base, git, dash, zsh, fish)"
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  echo "e2e deps: missing ${missing[*]}; run this script as root" >&2
  if [[ -n "$optional" ]]; then
    echo "e2e deps: going on without them: the real-host e2e tests will be skipped" >&2
    exit 0
  fi
  exit 1
fi

# Keep the packages' own services from starting (they would listen on :22 and :80).
created_policy=""
if [[ ! -e /usr/sbin/policy-rc.d ]]; then
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod 755 /usr/sbin/policy-rc.d
  created_policy=1
fi
cleanup() { if [[ -n "$created_policy" ]]; then rm -f /usr/sbin/policy-rc.d; fi; }
trap cleanup EXIT

echo "e2e deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "e2e deps: installed ${missing[*]}"
