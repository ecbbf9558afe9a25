import { heavyTaskSuite } from "./heavyTaskSuite.ts";

heavyTaskSuite("servers");
