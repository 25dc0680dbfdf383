import { basename } from 'node:path';
import type { BuildResult } from './emulator.js';

// BuildKit's plain progress (what Compose 2.26 prints on stdout without a TTY) for one service's build.
export function buildProgress(service: string, dockerfilePath: string, ref: string, result: BuildResult): string {
  const out: string[] = ['#0 building with "default" instance using docker driver', ''];
  const dockerfileName = basename(dockerfilePath);
  out.push(`#1 [${service} internal] load build definition from ${dockerfileName}`);
  if (!result.ok && result.atStep === 'dockerfile') {
    out.push(`#1 transferring dockerfile: 2B done`, `#1 ERROR: ${result.error}`, '------', ` > [${service} internal] load build definition from ${dockerfileName}:`, '------');
    return `${out.join('\n')}\nfailed to solve: ${result.error}\n`;
  }
  const steps = (result.dockerfile ?? '')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => /^(FROM|COPY|ADD|RUN)\s/i.test(line));
  const from = steps.find((s) => /^FROM\s/i.test(s))?.replace(/^FROM\s+/i, '') ?? 'nginx:1.27-alpine';
  const base = from.includes('/') ? from : `docker.io/library/${from}`;
  out.push(`#1 transferring dockerfile: ${Buffer.byteLength(result.dockerfile ?? '')}B done`, '#1 DONE 0.0s', '');
  out.push(`#2 [${service} internal] load metadata for ${base}`, '#2 DONE 0.4s', '');
  out.push(`#3 [${service} internal] load .dockerignore`, '#3 transferring context: 2B done', '#3 DONE 0.0s', '');
  out.push(`#4 [${service} 1/${steps.length}] FROM ${base}@sha256:2140dad235c130ac861018a4e13a6bc8aea3a35f3a40e20c1b060d51a7efd250`, '#4 resolve ' + base + ' 0.0s done', '#4 DONE 0.0s', '');
  out.push(`#5 [${service} internal] load build context`, '#5 transferring context: 2.41kB done', '#5 DONE 0.0s', '');
  let n = 6;
  for (const [i, step] of steps.slice(1).entries()) {
    const label = `[${service} ${i + 2}/${steps.length}] ${step}`;
    out.push(`#${n} ${label}`);
    if (!result.ok && /\.conf\.template/.test(step)) {
      out.push(`#${n} ERROR: ${result.error}`, '------', ` > ${label}:`, '------');
      return `${out.join('\n')}\nfailed to solve: ${result.error}\n`;
    }
    out.push(result.ok && result.cached ? `#${n} CACHED` : `#${n} DONE 0.0s`, '');
    n += 1;
  }
  if (!result.ok) return `${out.join('\n')}\nfailed to solve: ${result.error}\n`;
  out.push(
    `#${n} [${service}] exporting to image`,
    `#${n} exporting layers ${result.cached ? 'done' : '0.0s done'}`,
    `#${n} writing image ${result.image.id} done`,
    `#${n} naming to docker.io/library/${ref} done`,
    `#${n} DONE 0.0s`,
  );
  return `${out.join('\n')}\n`;
}
