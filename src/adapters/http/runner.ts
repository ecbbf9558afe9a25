import type { Effect, ManagedRuntime } from "effect";
import type { AppError } from "../../application/errors.ts";
import type { AppServices } from "../../application/services.ts";
import type { Logger } from "../logging/jsonLogger.ts";
import { answer } from "./errors.ts";

/** The use cases' runtime; building its layers may fail only with an application error. */
export type Runtime = ManagedRuntime.ManagedRuntime<AppServices, AppError>;

/** Runs a use case and answers with `ok` of its value, or with the problem of its failure. */
export type Run = <A, B>(
  effect: Effect.Effect<A, AppError, AppServices>,
  ok: (value: A) => B,
) => Promise<B | Response>;

export const runner =
  (runtime: Runtime, log: Logger): Run =>
  (effect, ok) =>
    runtime.runPromiseExit(effect).then((exit) => answer(exit, ok, log));
