#!/usr/bin/env bash
# The floor: the seed runbook's steps as a plain script, one `ssh` per step, no rollback, no lock, no
# journal. Only one thing is added to the seed: the backup step first compares the template with the
# fix (cmp on stdin) and, when they are equal, the script skips write/build/up as Ansible's template
# module would (otherwise a re-run would overwrite the backup with the fix). The checks always run.
#
# Environment (set by bench/run.ts):
#   TARGET=user@host PORT KEY KNOWN_HOSTS  where and how to connect (real OpenSSH client)
#   TEMPLATE      local file: the fixed template (the seed's config, byte for byte)
#   URL           the public URL, checked from this machine with curl (the seed's step 7)
#   CONTROL_PATH  optional: reuse ONE connection (ControlMaster=auto); the master is closed at exit
set -euo pipefail
: "${TARGET:?}" "${PORT:?}" "${KEY:?}" "${KNOWN_HOSTS:?}" "${TEMPLATE:?}" "${URL:?}"

ssh_opts=(-F /dev/null -p "$PORT" -i "$KEY" -o IdentitiesOnly=yes -o IdentityAgent=none -o BatchMode=yes
  -o "UserKnownHostsFile=$KNOWN_HOSTS" -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes
  -o UpdateHostKeys=no -o LogLevel=ERROR)
if [[ -n "${CONTROL_PATH:-}" ]]; then
  ssh_opts+=(-o ControlMaster=auto -o "ControlPath=$CONTROL_PATH" -o ControlPersist=yes)
  trap 'ssh "${ssh_opts[@]}" -O exit "$TARGET" 2>/dev/null || true' EXIT
fi
r() { ssh "${ssh_opts[@]}" "$TARGET" "$@"; }

T=proxy-configs/ocapistaine.conf.template
SERVICE=ocapistaine
PROFILES="--profile production --profile proxy"

# Step 1-2: cd ~/vaettir; back up the template (skipped, exit 10, when it already is the fix).
set +e
r "cd ~/vaettir && if cmp -s $T -; then exit 10; fi && cp -p $T $T.backup" <"$TEMPLATE"
rc=$?
set -e
case $rc in 0) changed=1 ;; 10) changed=0 ;; *) echo "backup failed ($rc)" >&2; exit 1 ;; esac

if [[ $changed == 1 ]]; then
  # Step 3: write the new config (the seed's nano).
  r "cd ~/vaettir && cat > $T" <"$TEMPLATE"
  # Step 4: rebuild and restart.
  r "cd ~/vaettir && docker compose build $SERVICE" >/dev/null
  r "cd ~/vaettir && docker compose $PROFILES up -d $SERVICE" >/dev/null 2>&1
fi

# Step 4: verify it's running.
ps=$(r "cd ~/vaettir && docker compose ps $SERVICE")
grep -q ' Up ' <<<"$ps" || { echo "not running: $ps" >&2; exit 1; }
# Step 5: the last 50 lines of the logs, no nginx errors.
logs=$(r "cd ~/vaettir && docker compose logs $SERVICE --tail 50" 2>&1)
if grep -Eq '\[(emerg|alert|crit|error)\]' <<<"$logs"; then echo "nginx errors in the logs" >&2; exit 1; fi
# Step 6: the rendered config has the map block.
rendered=$(r "cd ~/vaettir && docker compose exec -T $SERVICE cat /etc/nginx/nginx.conf")
grep -q 'map $http_upgrade' <<<"$rendered" || { echo "rendered config lacks the map block" >&2; exit 1; }
# Step 7: from this machine: curl -I on the stream (426, not 403/502), and the health endpoint.
stream=$(curl -sS -o /dev/null -w '%{http_code}' -I --max-time 10 "$URL/_stcore/stream")
[[ $stream == 426 ]] || { echo "stream answered $stream, not 426" >&2; exit 1; }
health=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 10 "$URL/_stcore/health")
[[ $health == 200 ]] || { echo "health answered $health" >&2; exit 1; }
echo "plain-ssh: changed=$changed stream=$stream health=$health"
