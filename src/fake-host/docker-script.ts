import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

// The `docker` the remote shell finds first on PATH: it forwards $PWD, $COMPOSE_PROFILES and argv to the
// emulator in the fake host's process over loopback and replays the framed answer (o<len>/e<len> chunks, then x<exit code>).
export function dockerScript(port: number, token: string): string {
  return `#!/bin/bash
# fake host: docker -> the in-process Compose emulator on 127.0.0.1:${port}
if ! exec 3<>/dev/tcp/127.0.0.1/${port}; then
  echo 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?' >&2
  exit 1
fi
printf '%s\\0' '${token}' "$PWD" "\${COMPOSE_PROFILES-}" "$#" "$@" >&3
while IFS= read -r -d '' frame <&3; do
  case $frame in
    o*) head -c "\${frame#o}" <&3 ;;
    e*) head -c "\${frame#e}" <&3 >&2 ;;
    x*) exec 3<&-; exit "\${frame#x}" ;;
  esac
done
echo 'error during connect: the Docker daemon closed the connection' >&2
exit 1
`;
}

// A `curl` that never leaves the machine: the host's requests to the upstream are answered by the emulator.
const CURL_SCRIPT = `#!/bin/bash
# fake host: curl -> the emulator's view of the upstream (no request leaves this machine)
exec docker __upstream-curl "$@"
`;

// Writes the script as <binDir>/docker, executable, and the curl shim beside it.
export async function installDockerScript(binDir: string, port: number, token: string): Promise<string> {
  const path = join(binDir, 'docker');
  await writeFile(path, dockerScript(port, token));
  await chmod(path, 0o755);
  await writeFile(join(binDir, 'curl'), CURL_SCRIPT, { mode: 0o755 });
  return path;
}
