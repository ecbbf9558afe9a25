import { setPriority } from "node:os";
import { fibonacci } from "../../domain/fibonacci.ts";

declare const self: Worker;

const backgroundNice = 19;

// Below the event loop's thread, so that under CPU contention the scheduler serves requests
// first. Linux only: there the nice value belongs to the thread; elsewhere it is the process's.
if (process.platform === "linux") {
  try {
    setPriority(backgroundNice);
  } catch {}
}

/** One job at a time: n in, F(n) in decimal out. The decimal conversion costs most; it runs here. */
self.onmessage = (event: MessageEvent<number>) => {
  self.postMessage(fibonacci(event.data).toString());
};
