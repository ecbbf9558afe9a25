/** A throwaway redis-server on a spare port that a test can stop, freeze and start again. */
export const throwawayRedis = async () => {
  const port = 30_000 + Math.floor(Math.random() * 20_000);
  let proc: ReturnType<typeof Bun.spawn> | undefined;
  const url = `redis://127.0.0.1:${port}`;

  const ping = async () => {
    const out = Bun.spawn(["redis-cli", "-p", String(port), "ping"], {
      stdout: "pipe",
      stderr: "ignore",
    });
    return (await new Response(out.stdout).text()).trim() === "PONG";
  };

  /** Starts an empty server (no persistence) and waits until it answers. */
  const start = async () => {
    proc = Bun.spawn(
      [
        "redis-server",
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
      ],
      { stdout: "ignore", stderr: "ignore" },
    );
    for (let i = 0; i < 100 && !(await ping()); i++) await Bun.sleep(20);
  };

  /** Kills the server: its data is gone, as after a restart without persistence. */
  const kill = async () => {
    proc?.kill("SIGKILL");
    await proc?.exited;
    proc = undefined;
  };

  /** Freezes the server: connections stay open but nothing is answered. */
  const freeze = () => proc?.kill("SIGSTOP");
  const thaw = () => proc?.kill("SIGCONT");

  await start();
  return { port, url, start, kill, freeze, thaw };
};

/** Polls `check` until it returns true or `ms` pass; returns whether it did. */
export const eventually = async (check: () => Promise<boolean>, ms = 10_000) => {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await check()) return true;
    await Bun.sleep(25);
  }
  return false;
};
