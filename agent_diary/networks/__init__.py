"""One module per social network: its client, its limits, media upload, the look-up that
settles an unknown outcome, and the mapping of its failures to the exit codes (today only
X, in `x`). Each imports its heavy client library inside the calls that need it, so a
command that posts nowhere loads none of them.

May import: `text/`, `errors`, `config` and `auth` (credentials); nothing from `publish/`
(the state machine calls a network, never the other way round), `emulator/` or `cli`.
"""
