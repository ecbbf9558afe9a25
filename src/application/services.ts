import type { Authenticator } from "./Authenticator.ts";
import type { DirectoryProjector } from "./DirectoryProjector.ts";
import type { Explainer } from "./Explainer.ts";
import type { SigningKeys } from "./keys/SigningKeys.ts";
import type { Projector } from "./Projector.ts";
import type { AuthSettings } from "./ports/AuthSettings.ts";
import type { Cache } from "./ports/Cache.ts";
import type { ClientSecrets } from "./ports/ClientSecrets.ts";
import type { DataKeys } from "./ports/DataKeys.ts";
import type { Directory } from "./ports/Directory.ts";
import type { EventStore } from "./ports/EventStore.ts";
import type { FibonacciComputer } from "./ports/FibonacciComputer.ts";
import type { HeavyTaskSettings } from "./ports/HeavyTaskSettings.ts";
import type { Ids } from "./ports/Ids.ts";
import type { KeyGenerator } from "./ports/KeyGenerator.ts";
import type { KeySettings } from "./ports/KeySettings.ts";
import type { Limits } from "./ports/Limits.ts";
import type { LogSigner } from "./ports/LogSigner.ts";
import type { PasswordHasher } from "./ports/PasswordHasher.ts";
import type { RateLimiter } from "./ports/RateLimiter.ts";
import type { TokenState } from "./ports/TokenState.ts";
import type { Tokens } from "./ports/Tokens.ts";

export type AppServices =
  | Authenticator
  | Explainer
  | AuthSettings
  | EventStore
  | DataKeys
  | Ids
  | PasswordHasher
  | Tokens
  | TokenState
  | Projector
  | Directory
  | DirectoryProjector
  | Cache
  | ClientSecrets
  | FibonacciComputer
  | HeavyTaskSettings
  | Limits
  | LogSigner
  | RateLimiter
  | SigningKeys
  | KeyGenerator
  | KeySettings;
