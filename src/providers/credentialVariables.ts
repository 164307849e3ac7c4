/**
 * The environment variables that carry vendor credentials. Setting any of them means "run live":
 * DEMO_MODE then defaults to false. Each vendor's adapter reads its own (see its `env.ts`).
 */
export const CREDENTIAL_VARIABLES: ReadonlyArray<string> = [
  "TWILIO_ACCOUNT_SID",
  "TWILIO_AUTH_TOKEN",
  "SENDGRID_API_KEY",
  "TELNYX_API_KEY",
  "RESEND_API_KEY"
]
