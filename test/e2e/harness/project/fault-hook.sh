#!/bin/sh
# The e2e test host's fault switches, applied for real at build time: the project's Dockerfile ends with
# `COPY .e2e/ /e2e/` and `RUN ["/bin/sh", "/e2e/fault-hook.sh"]` (the harness adds those two lines).
# A fault is on while /e2e/faults/<name> exists. Scope "changed" (the default) bites only a template that
# differs from the host's original (/e2e/baseline.template), so a rollback to the original works;
# scope "always" bites every template. No fault on: the image is the project's image, unchanged.
set -eu
template=/etc/nginx/templates/ocapistaine.conf.template

on() {
  [ -f "/e2e/faults/$1" ] || return 1
  grep -q '"always"' "/e2e/faults/$1" && return 0
  ! cmp -s "$template" /e2e/baseline.template
}

# A held build (host.holdNextBuild): this step sleeps, so a test can act while `docker compose build` runs.
if [ -f /e2e/faults/hold-build ]; then sleep "$(cat /e2e/faults/hold-build)"; fi

if on build-fails; then
  echo "ERROR: failed to copy files: copy file range failed: no space left on device" >&2
  exit 1
fi
# The build succeeds but the image keeps the original template (a COPY that misses the edit).
if on stale-image; then cp /e2e/baseline.template "$template"; fi
# The image's main config includes the rendered template outside http {}: nginx rejects it.
if on reject-new-config; then cp /e2e/main-toplevel.conf /etc/nginx/main.conf; fi
# The entrypoint runs envsubst without a variable list: nginx's own $variables vanish.
if on blank-vars; then sed -i "s/envsubst '[^']*'/envsubst/" /entrypoint.sh; fi
# The container serves, but its start writes a real nginx [emerg] line to its log first.
if on emerg-logs; then
  sed -i 's|^exec "\$@"|if [ "$1" = nginx ] \&\& [ "${2:-}" = -g ]; then /usr/sbin/nginx -t -c /e2e/emerg.conf \|\| true; fi\nexec "$@"|' /entrypoint.sh
  grep -q emerg.conf /entrypoint.sh
fi
# `up` fails: the service depends on e2e-gate (same image), whose entrypoint then cannot be executed.
if on up-fails; then chmod a-x /e2e/gate; fi
exit 0
