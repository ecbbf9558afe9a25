const root = `${import.meta.dir}/../..`;

/**
 * The environment a process a test starts begins from: enough to find its tools, nothing of the
 * developer's configuration (a DATABASE_URL there must not turn an embedded test into one that
 * writes to the developer's database).
 */
export const baseEnv = (): Record<string, string> => {
  const env: Record<string, string> = { PATH: process.env.PATH ?? "" };
  for (const name of ["HOME", "TMPDIR", "LANG"]) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  return env;
};

/** Runs `bun <script> ...args` from the project root and collects what it printed and its exit code. */
export const runScript = async (
  script: string,
  args: readonly string[],
  options: { env?: Record<string, string | undefined>; stdin?: string } = {},
) => {
  const proc = Bun.spawn([process.execPath, script, ...args], {
    cwd: root,
    env: options.env ?? baseEnv(),
    stdin: options.stdin === undefined ? "ignore" : new TextEncoder().encode(options.stdin),
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { code, stdout, stderr };
};
