import type { Effect, ManagedRuntime } from "effect";
import type { AppError } from "../../application/errors.ts";
import type { AppServices } from "../../application/services.ts";
import type { Logger } from "../logging/jsonLogger.ts";
import { type Answers, answer } from "./errors.ts";

export type Runtime = ManagedRuntime.ManagedRuntime<AppServices, AppError>;

export type Run = <A, B>(
  effect: Effect.Effect<A, AppError, AppServices>,
  ok: (value: A) => B,
  answers?: Answers,
) => Promise<B | Response>;

export const runner =
  (runtime: Runtime, log: Logger): Run =>
  (effect, ok, answers) =>
    runtime.runPromiseExit(effect).then((exit) => answer(exit, ok, log, answers));
