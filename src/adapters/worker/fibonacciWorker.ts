import { setPriority } from "node:os";
import { fibonacci } from "../../domain/fibonacci.ts";

declare const self: Worker;

const backgroundNice = 19;

// Below the request thread (decision 15); Linux only, where the nice value is per thread.
if (process.platform === "linux") {
  try {
    setPriority(backgroundNice);
  } catch {}
}

self.onmessage = (event: MessageEvent<number>) => {
  self.postMessage(fibonacci(event.data).toString());
};
