"""The local stand-in for X that tests, `--sandbox` and `agent-diary emulator` post to:
the HTTP layer with OAuth 1.0a verification and the timeline page (server), and the
world it answers from, what X accepts and refuses (state).

May import: `text/` (it counts and finds URLs as X does), `errors`, `wording`; nothing
from `publish/`, `networks/` or the commands: it must behave like X, not like our client.
"""
