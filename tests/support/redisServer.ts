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

/** A throwaway three-master Redis Cluster on spare ports. */
export const throwawayCluster = async () => {
  const base = 30_000 + Math.floor(Math.random() * 20_000);
  const ports = [base, base + 1, base + 2];
  const dir = (await Bun.$`mktemp -d`.text()).trim();
  const procs = ports.map((port) =>
    Bun.spawn(
      [
        "redis-server",
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--cluster-enabled",
        "yes",
        "--cluster-config-file",
        `${dir}/nodes-${port}.conf`,
        "--dir",
        dir,
        "--save",
        "",
        "--appendonly",
        "no",
      ],
      { stdout: "ignore", stderr: "ignore" },
    ),
  );
  const cli = async (port: number, ...args: string[]) =>
    (
      await new Response(
        Bun.spawn(["redis-cli", "-p", String(port), ...args], { stdout: "pipe", stderr: "ignore" })
          .stdout,
      ).text()
    ).trim();
  for (const port of ports) {
    await eventually(async () => (await cli(port, "ping")) === "PONG", 5000);
  }
  await Bun.spawn(
    [
      "redis-cli",
      "--cluster",
      "create",
      ...ports.map((p) => `127.0.0.1:${p}`),
      "--cluster-replicas",
      "0",
      "--cluster-yes",
    ],
    { stdout: "ignore", stderr: "ignore" },
  ).exited;
  const healthy = await eventually(async () => {
    const states = await Promise.all(ports.map((port) => cli(port, "cluster", "info")));
    return states.every((info) => info.includes("cluster_state:ok"));
  }, 15_000);
  if (!healthy) throw new Error("the Redis Cluster did not come up");
  const stop = async () => {
    for (const proc of procs) proc.kill("SIGKILL");
    await Promise.all(procs.map((proc) => proc.exited));
    await Bun.$`rm -rf ${dir}`.quiet();
  };
  return {
    url: `redis-cluster://${ports.map((p) => `127.0.0.1:${p}`).join(",")}`,
    ports,
    cli,
    stop,
  };
};
