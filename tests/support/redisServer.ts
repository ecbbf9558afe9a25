import { accepts, eventually, freePort } from "./net.ts";

/**
 * A redis-server of the test's own on a spare port, with no persistence, so it can be killed
 * and started again empty, or frozen, without touching the shared one.
 */
export const throwawayRedis = async () => {
  const port = freePort();
  let proc: ReturnType<typeof Bun.spawn> | undefined;
  const url = `redis://127.0.0.1:${port}`;

  /** Starts an empty server and waits until it accepts connections. */
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
    if (!(await eventually(() => accepts(port)))) {
      throw new Error(`redis-server did not start on port ${port}`);
    }
  };

  /** Kills the server: its data is gone, as after a restart without persistence. */
  const stop = async () => {
    if (!proc || proc.exitCode !== null) return;
    proc.kill("SIGKILL");
    await proc.exited;
  };

  /** Freezes the server: connections stay open but nothing is answered. */
  const freeze = () => proc?.kill("SIGSTOP");
  const thaw = () => proc?.kill("SIGCONT");

  await start();
  return { port, url, start, stop, freeze, thaw };
};

/** A throwaway three-master Redis Cluster on spare ports. */
export const throwawayCluster = async () => {
  const ports = [freePort(), freePort(), freePort()];
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
  /** The port of the master serving the slot of `key`. */
  const masterOf = async (key: string) => {
    const slot = Number(await cli(ports[0] as number, "cluster", "keyslot", key));
    for (const line of (await cli(ports[0] as number, "cluster", "nodes")).split("\n")) {
      const [, address = "", flags = "", , , , , , ...ranges] = line.split(" ");
      if (!flags.includes("master")) continue;
      for (const range of ranges) {
        const [from = -1, to = from] = range.split("-").map(Number);
        if (slot >= from && slot <= to) return Number(/:(\d+)@/.exec(address)?.[1]);
      }
    }
    throw new Error(`no master serves slot ${slot}`);
  };
  const stop = async () => {
    for (const proc of procs) proc.kill("SIGKILL");
    await Promise.all(procs.map((proc) => proc.exited));
    await Bun.$`rm -rf ${dir}`.quiet();
  };
  return {
    url: `redis-cluster://${ports.map((p) => `127.0.0.1:${p}`).join(",")}`,
    ports,
    cli,
    masterOf,
    stop,
  };
};
