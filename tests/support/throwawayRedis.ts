/** A free TCP port on 127.0.0.1, as the kernel hands it out. */
const freePort = () => {
  const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = listener.port;
  listener.stop(true);
  return port;
};

const accepts = (port: number) =>
  Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } }).then(
    (socket) => {
      socket.end();
      return true;
    },
    () => false,
  );

/**
 * A redis-server of this test's own, on a spare port, with no persistence, so it can be killed
 * and restarted (empty) without touching the shared one. `stop` kills it; `start` brings a fresh
 * one up on the same port.
 */
export const throwawayRedis = async () => {
  const port = freePort();
  let proc: ReturnType<typeof Bun.spawn> | undefined;
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
        "--daemonize",
        "no",
      ],
      { stdout: "ignore", stderr: "ignore" },
    );
    const deadline = Date.now() + 10_000;
    while (!(await accepts(port))) {
      if (Date.now() > deadline || proc.exitCode !== null) {
        throw new Error(`redis-server did not start on port ${port}`);
      }
      await Bun.sleep(10);
    }
  };
  const stop = async () => {
    if (!proc || proc.exitCode !== null) return;
    proc.kill("SIGKILL");
    await proc.exited;
  };
  await start();
  return { url: `redis://127.0.0.1:${port}`, port, start, stop };
};
