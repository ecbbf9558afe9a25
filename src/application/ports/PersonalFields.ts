import { Context, type Effect } from "effect";
import type { PlainFields, Rewrite, StoredEvent, StoreUnavailable } from "./EventStore.ts";

/** The personal fields of stored events, sealed after the fact as new events are sealed. */
export class PersonalFields extends Context.Service<
  PersonalFields,
  {
    /** Where personal fields sit, and how a sealed one begins. */
    readonly fields: PlainFields;
    /**
     * The rewrites that seal every plain personal field of these events under its owner's key
     * (made when missing); sealed fields are left as they are.
     */
    readonly seal: (
      events: readonly StoredEvent[],
    ) => Effect.Effect<readonly Rewrite[], StoreUnavailable>;
  }
>()("app/PersonalFields") {}
