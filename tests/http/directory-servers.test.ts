import { directorySuite } from "./directorySuite.ts";

directorySuite("servers");
