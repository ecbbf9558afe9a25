import { bun, main } from "./composition.ts";

await main(bun);
