// Runs TypeScript fixtures as real child processes without a prior `npm run build`: transpiles the
// fixture and the mirror sources (type-only, no checking: tsc does that elsewhere) into a temp
// tree that keeps their relative layout, with the project's node_modules linked beside them.
import { mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

async function tsFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await tsFiles(path)));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

export interface Transpiled {
  /** Absolute path of the compiled entry point. */
  entry: string;
  cleanup(): Promise<void>;
}

/** Transpiles `fixture` (relative to the project root) together with everything under mirror/. */
export async function transpileFixture(fixture: string): Promise<Transpiled> {
  const out = await mkdtemp(join(tmpdir(), 'heliostat-fixture-'));
  const sources = [...(await tsFiles(join(ROOT, 'mirror'))), join(ROOT, fixture)];
  for (const source of sources) {
    const { outputText } = ts.transpileModule(await readFile(source, 'utf8'), {
      fileName: source,
      compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true },
    });
    const target = join(out, relative(ROOT, source)).replace(/\.ts$/, '.js');
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, outputText);
  }
  await writeFile(join(out, 'package.json'), '{"type": "module"}\n');
  await symlink(join(ROOT, 'node_modules'), join(out, 'node_modules'), 'dir');
  return { entry: join(out, fixture.replace(/\.ts$/, '.js')), cleanup: () => rm(out, { recursive: true, force: true }) };
}
