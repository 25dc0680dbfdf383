import { accessLine } from './nginx/log-lines.js';
import type { ComposeEmulator } from './compose/emulator.js';

const HOUR = 3_600_000;

// The host as the runbook finds it: images built and containers started hours ago, the proxy running
// the broken template, a few requests already in its access log.
export function seedRunningStack(emulator: ComposeEmulator, projectDir: string): void {
  const now = emulator.now();
  const project = emulator.project(projectDir, { files: [] });
  for (const service of project.services.values()) {
    const built = emulator.buildImage(project, service, now - 3 * HOUR - 120_000);
    if (!built.ok) throw new Error(`fake host: cannot build the starting image of ${service.name}: ${built.error}`);
    const container = emulator.createContainer(project, service, built.image, 0, now - 3 * HOUR);
    if (!container.check.ok) throw new Error(`fake host: the starting config of ${service.name} is invalid: ${container.check.message}`);
    if (built.image.template) {
      container.logs.push(
        accessLine(now - 2 * HOUR, 'GET', '/', 200, 'Mozilla/5.0 (X11; Linux x86_64)'),
        accessLine(now - 2 * HOUR + 900, 'GET', '/_stcore/health', 200, 'Mozilla/5.0 (X11; Linux x86_64)'),
        accessLine(now - 2 * HOUR + 1200, 'GET', '/_stcore/stream', 426, 'Mozilla/5.0 (X11; Linux x86_64)'),
      );
    }
  }
}
