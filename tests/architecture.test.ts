import { describe, expect, test } from "bun:test";
import { readdir, readFile } from "node:fs/promises";
import { builtinModules } from "node:module";
import { join, posix, relative, sep } from "node:path";

interface SourceFile {
  /** Path relative to the project root, with forward slashes, e.g. `src/domain/Role.ts`. */
  readonly path: string;
  readonly source: string;
}

interface Violation {
  readonly file: string;
  readonly specifier: string;
  readonly rule: string;
}

const importPatterns = [
  /(?:^|[;\n])\s*(?:import|export)\b[^;]*?\bfrom\s*(["'])([^"'\n]+)\1/g,
  /(?:^|[;\n])\s*import\s*(["'])([^"'\n]+)\1/g,
  /\bimport\s*\(\s*(["'])([^"'\n]+)\1\s*\)/g,
  /\brequire\s*\(\s*(["'])([^"'\n]+)\1\s*\)/g,
];

const stripComments = (source: string): string =>
  source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");

const importsOf = (source: string): string[] => {
  const code = stripComments(source);
  const found = new Set<string>();
  for (const pattern of importPatterns) {
    for (const match of code.matchAll(pattern)) {
      const specifier = match[2];
      if (specifier !== undefined) found.add(specifier);
    }
  }
  return [...found];
};

const nodeBuiltins = new Set(builtinModules);

/** Packages and runtime modules that belong to the adapters' side of the hexagon. */
const isInfrastructure = (specifier: string): boolean =>
  specifier === "elysia" ||
  specifier.startsWith("elysia/") ||
  specifier.startsWith("@elysiajs/") ||
  specifier === "postgres" ||
  specifier === "redis" ||
  specifier.startsWith("@redis/") ||
  specifier === "jose" ||
  specifier === "bun" ||
  specifier.startsWith("bun:") ||
  specifier.startsWith("node:") ||
  nodeBuiltins.has(specifier.split("/")[0] ?? specifier);

const isEffect = (specifier: string): boolean =>
  specifier === "effect" || specifier.startsWith("effect/");

const isRelative = (specifier: string): boolean =>
  specifier.startsWith("./") || specifier.startsWith("../");

const resolve = (file: string, specifier: string): string =>
  posix.normalize(posix.join(posix.dirname(file), specifier));

const within = (path: string, folder: string): boolean => path.startsWith(`${folder}/`);

/** `src/adapters/redis/x.ts` -> `redis`; files directly in src/adapters have no technology. */
const technologyOf = (path: string): string | undefined => {
  const match = /^src\/adapters\/([^/]+)\//.exec(path);
  return match && path.split("/").length > 3 ? match[1] : undefined;
};

/** Which technology folders a technology folder may import besides itself. */
const allowedAcrossAdapters: Readonly<Record<string, readonly string[]>> = {
  cli: ["config", "http"],
  // The library reads the projection the API writes: one key layout, not two copies of it.
  verifier: ["redis"],
};

/**
 * Folders every adapter may use: how the process logs is not a technology of its own, and the
 * hash chain's encoding is one for both stores and verify-log, not three copies of it.
 */
const sharedAdapters: ReadonlySet<string> = new Set(["logging", "chain"]);

const compositionRoot = "src/composition.ts";

/** What `bun <file>` starts: nothing may import them, they import the composition root. */
const entryPoints: ReadonlySet<string> = new Set([
  "src/main.ts",
  "src/adapters/cli/cli.ts",
  "src/adapters/deno/main.ts",
]);

/** Every break of the dependency rule in `files`, one entry per offending import. */
const checkDependencyRule = (files: readonly SourceFile[]): Violation[] => {
  const violations: Violation[] = [];
  for (const { path, source } of files) {
    const inDomain = within(path, "src/domain");
    const inApplication = within(path, "src/application");
    const technology = technologyOf(path);
    const technologiesImported = new Set<string>();
    const report = (specifier: string, rule: string) =>
      violations.push({ file: path, specifier, rule });

    for (const specifier of importsOf(source)) {
      const target = isRelative(specifier) ? resolve(path, specifier) : undefined;

      if (target !== undefined && entryPoints.has(target)) {
        report(specifier, "nothing imports an entry point");
        continue;
      }

      if (target !== undefined && within(target, "src/adapters") && (inDomain || inApplication)) {
        report(specifier, "domain and application never import adapters");
        continue;
      }
      if (inDomain && (target === undefined || !within(target, "src/domain"))) {
        report(specifier, "domain imports only src/domain");
        continue;
      }
      if (
        inApplication &&
        !isEffect(specifier) &&
        (target === undefined ||
          !(within(target, "src/domain") || within(target, "src/application")))
      ) {
        report(specifier, "application imports only src/domain, src/application and effect");
        continue;
      }
      if (
        isInfrastructure(specifier) &&
        !within(path, "src/adapters") &&
        path !== compositionRoot
      ) {
        report(
          specifier,
          "only adapters and src/composition.ts import frameworks, drivers and runtime APIs",
        );
        continue;
      }
      const targetTechnology = target === undefined ? undefined : technologyOf(target);
      if (targetTechnology === undefined) continue;
      technologiesImported.add(targetTechnology);
      if (
        technology !== undefined &&
        targetTechnology !== technology &&
        !sharedAdapters.has(targetTechnology) &&
        !(allowedAcrossAdapters[technology] ?? []).includes(targetTechnology)
      ) {
        report(
          specifier,
          `src/adapters/${technology} does not import src/adapters/${targetTechnology}`,
        );
      }
    }

    if ((inDomain || inApplication) && /\bBun\s*\./.test(stripComments(source))) {
      report("Bun", "domain and application do not use Bun APIs");
    }
    if (
      path !== compositionRoot &&
      !within(path, "src/adapters") &&
      technologiesImported.size > 1
    ) {
      report(
        [...technologiesImported].join(", "),
        "only src/composition.ts wires more than one adapter technology",
      );
    }
  }
  return violations;
};

/** Each cycle of relative imports once, as the files along it from the first one met. */
const importCycles = (files: readonly SourceFile[]): string[][] => {
  const edges = new Map(
    files.map(({ path, source }) => [
      path,
      importsOf(source)
        .filter(isRelative)
        .map((specifier) => resolve(path, specifier)),
    ]),
  );
  const cycles: string[][] = [];
  const done = new Set<string>();
  const visit = (file: string, trail: string[]) => {
    const at = trail.indexOf(file);
    if (at >= 0) return void cycles.push(trail.slice(at));
    if (done.has(file) || !edges.has(file)) return;
    for (const next of edges.get(file) ?? []) visit(next, [...trail, file]);
    done.add(file);
  };
  for (const file of edges.keys()) visit(file, []);
  return cycles;
};

const sourceExtensions = /\.(?:ts|tsx|mts|cts)$/;

const projectRoot = join(import.meta.dir, "..");

const readSources = async (folder: string): Promise<SourceFile[]> => {
  const entries = await readdir(join(projectRoot, folder), {
    recursive: true,
    withFileTypes: true,
  });
  const files: SourceFile[] = [];
  for (const entry of entries) {
    if (!entry.isFile() || !sourceExtensions.test(entry.name)) continue;
    const full = join(entry.parentPath, entry.name);
    const path = relative(projectRoot, full).split(sep).join("/");
    files.push({ path, source: await readFile(full, "utf8") });
  }
  return files;
};

describe("dependency rule", () => {
  test("every file under src/ respects domain <- application <- adapters", async () => {
    const files = await readSources("src");
    expect(files.length).toBeGreaterThan(0);
    expect(checkDependencyRule(files)).toEqual([]);
  });

  test("no import cycles under src/", async () => {
    expect(importCycles(await readSources("src"))).toEqual([]);
  });

  test("every entry point starts from the composition root", async () => {
    const files = await readSources("src");
    for (const entry of entryPoints) {
      const file = files.find((f) => f.path === entry);
      expect(file?.source).toBeDefined();
    }
    const main = files.find((f) => f.path === "src/main.ts");
    expect(importsOf(main?.source ?? "")).toEqual(["./composition.ts"]);
  });
});

describe("the checker itself", () => {
  const sample: SourceFile[] = [
    {
      path: "src/domain/user/User.ts",
      source: [
        'import { Effect } from "effect";',
        'import type { Role } from "../Role.ts";',
        'import { pg } from "../../adapters/postgres/PostgresEventStore.ts";',
        'import { randomUUID } from "crypto";',
      ].join("\n"),
    },
    {
      path: "src/application/Login.ts",
      source: [
        'import { Effect } from "effect";',
        'import { Option } from "effect/Option";',
        'import type { User } from "../domain/user/User.ts";',
        "import {",
        "  Elysia,",
        '} from "elysia";',
        'export * from "../adapters/http/app.ts";',
        'const jose = await import("jose");',
        "const hash = Bun.password.hash;",
      ].join("\n"),
    },
    {
      path: "src/adapters/redis/RedisTokenState.ts",
      source: [
        'import { createClient } from "redis";',
        'import { sql } from "../postgres/client.ts";',
        'import { Config } from "../config/Config.ts";',
        'import type { TokenState } from "../../application/ports/TokenState.ts";',
      ].join("\n"),
    },
    {
      path: "src/adapters/cli/replay.ts",
      source: [
        'import { loadConfig } from "../config/Config.ts";',
        'import { app } from "../http/app.ts";',
        'import "../embedded/SqliteEventStore.ts";',
      ].join("\n"),
    },
    {
      path: "src/wiring.ts",
      source: [
        'import { PostgresLive } from "./adapters/postgres/layer.ts";',
        'import { RedisLive } from "./adapters/redis/layer.ts";',
      ].join("\n"),
    },
    {
      path: "src/composition.ts",
      source: [
        "// import { nothing } from 'jose';",
        'import { Elysia } from "elysia";',
        'import { PostgresLive } from "./adapters/postgres/layer.ts";',
        'import { RedisLive } from "./adapters/redis/layer.ts";',
      ].join("\n"),
    },
  ];

  const violations = checkDependencyRule(sample);
  const of = (file: string) => violations.filter((v) => v.file === file).map((v) => v.specifier);

  test("reads static, multi-line, re-export, side-effect and dynamic imports, not comments", () => {
    expect(importsOf(sample[1]?.source ?? "")).toEqual([
      "effect",
      "effect/Option",
      "../domain/user/User.ts",
      "elysia",
      "../adapters/http/app.ts",
      "jose",
    ]);
    expect(importsOf("// import x from 'jose';\n/* import 'redis' */")).toEqual([]);
  });

  test("domain may import only domain", () => {
    expect(of("src/domain/user/User.ts")).toEqual([
      "effect",
      "../../adapters/postgres/PostgresEventStore.ts",
      "crypto",
    ]);
  });

  test("application may import domain, application and effect, and no Bun API", () => {
    expect(of("src/application/Login.ts")).toEqual([
      "elysia",
      "../adapters/http/app.ts",
      "jose",
      "Bun",
    ]);
  });

  test("one adapter technology does not import another", () => {
    expect(of("src/adapters/redis/RedisTokenState.ts")).toEqual([
      "../postgres/client.ts",
      "../config/Config.ts",
    ]);
  });

  test("the cli may import config and http, but no other technology", () => {
    expect(of("src/adapters/cli/replay.ts")).toEqual(["../embedded/SqliteEventStore.ts"]);
  });

  test("nothing imports an entry point", () => {
    const violations = checkDependencyRule([
      { path: "src/adapters/cli/replay.ts", source: 'import { main } from "../../main.ts";' },
      { path: "src/composition.ts", source: 'import "./adapters/cli/cli.ts";' },
    ]);
    expect(violations.map((v) => v.rule)).toEqual([
      "nothing imports an entry point",
      "nothing imports an entry point",
    ]);
  });

  test("finds import cycles, and none in a tree", () => {
    const cyclic = [
      { path: "src/application/a.ts", source: 'import { b } from "./b.ts";' },
      { path: "src/application/b.ts", source: 'import type { c } from "./c.ts";' },
      { path: "src/application/c.ts", source: 'import { a } from "./a.ts";' },
      { path: "src/application/d.ts", source: 'import { a } from "./a.ts";' },
    ];
    expect(importCycles(cyclic)).toEqual([
      ["src/application/a.ts", "src/application/b.ts", "src/application/c.ts"],
    ]);
    expect(importCycles(cyclic.slice(0, 2))).toEqual([]);
  });

  test("only src/composition.ts wires several technologies", () => {
    expect(of("src/wiring.ts")).toEqual(["postgres, redis"]);
    expect(of("src/composition.ts")).toEqual([]);
  });
});
