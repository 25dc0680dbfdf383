import type { ComposeEmulator } from './emulator.js';
import type { CommandIO } from './io.js';
import type { ComposeProject, ServiceDef } from './project.js';
import { ComposeError } from './project.js';

// Everything a `docker compose <sub>` handler needs.
export interface ComposeContext {
  emulator: ComposeEmulator;
  project: ComposeProject;
  profiles: string[];
  io: CommandIO;
  args: string[];
  subcommand: string;
}

export type ComposeCommand = (ctx: ComposeContext) => Promise<number>;

// Named services must exist (and are enabled even behind a profile); with none named, the services
// the active profiles enable — as Compose does.
export function selectServices(ctx: ComposeContext, names: readonly string[]): ServiceDef[] {
  if (names.length > 0) {
    return names.map((name) => {
      const service = ctx.project.services.get(name);
      if (!service) throw new ComposeError(`no such service: ${name}`);
      return service;
    });
  }
  const active = [...ctx.project.services.values()].filter((s) => isActive(s, ctx.profiles));
  if (active.length === 0) throw new ComposeError('no service selected');
  return active;
}

// A service with no profiles always runs; one with profiles only when one of them is active.
export function isActive(service: ServiceDef, profiles: readonly string[]): boolean {
  return service.profiles.length === 0 || profiles.includes('*') || service.profiles.some((p) => profiles.includes(p));
}

// Progress lines as Compose prints them without a TTY: " Container <name>  <Event>".
export function event(ctx: ComposeContext, name: string, what: string): void {
  ctx.io.err(` Container ${name}  ${what}\n`);
}
