export const passwordMinLength = 8;
export const passwordMaxLength = 128;

export const passwordRule = `${passwordMinLength} to ${passwordMaxLength} characters`;

/** Checked before any hashing, so a huge password never reaches the hasher. */
export const isValidPassword = (value: string): boolean =>
  value.length >= passwordMinLength && value.length <= passwordMaxLength;
