// The CLI reference, generated from the commander definitions themselves so it cannot drift:
// `heliostat cli-reference` prints it, and a test keeps docs/cli-reference.md equal to it.
import type { Command, Option } from 'commander';

function optionLine(option: Option): string {
  const fallback = option.defaultValue === undefined ? '' : ` (default: \`${String(option.defaultValue as string | number | boolean)}\`)`;
  return `- \`${option.flags}\`: ${option.description}${fallback}`;
}

function walk(command: Command, path: string[], out: string[]): void {
  const name = [...path, command.name()].join(' ');
  if (path.length > 0) {
    const args = command.registeredArguments.map((a) => (a.required ? `<${a.name()}${a.variadic ? '...' : ''}>` : `[${a.name()}${a.variadic ? '...' : ''}]`)).join(' ');
    out.push(`## \`${name}${args ? ` ${args}` : ''}\``, '', command.description(), '');
    const options = command.options.filter((o) => !o.hidden);
    if (options.length > 0) out.push(...options.map(optionLine), '');
  }
  for (const sub of command.commands) walk(sub, [...path, command.name()], out);
}

export function cliReference(program: Command): string {
  const out = ['# heliostat CLI reference', '', 'Generated from the command definitions (`heliostat cli-reference`).', '', '## Global options', ''];
  out.push(...program.options.filter((o) => !o.hidden).map(optionLine), '');
  walk(program, [], out);
  return out.join('\n').replace(/\n{3,}/g, '\n\n').trimEnd() + '\n';
}
