"""One module per Slack surface, each holding its builders, its parsers and its ids
(docs/architecture.md, "Slack surfaces"):

- request_modal: the /request-aws-access form, its arguments and help text
- approval_message: the owners' message, its buttons, the deny modal, the request-id parser
- dms: every direct message to a requester
- channel: the owners' thread replies, reminders, escalations and summaries
- app_home: App Home and the `status` answer
- blockkit / sandbox_marks: shared mrkdwn helpers and the sandbox note

Builders are pure functions of domain values: data in, Slack JSON out, no I/O.
"""
