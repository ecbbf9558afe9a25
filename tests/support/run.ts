const root = `${import.meta.dir}/../..`;

/** Runs `bun <script> ...args` from the project root and collects what it printed and its exit code. */
export const runScript = async (
  script: string,
  args: readonly string[],
  options: { env?: Record<string, string | undefined>; stdin?: string } = {},
) => {
  const proc = Bun.spawn([process.execPath, script, ...args], {
    cwd: root,
    env: options.env ?? process.env,
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
