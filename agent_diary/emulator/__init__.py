"""The local stand-in for X that tests, `--sandbox` and `agent-diary emulator` post to:
the HTTP layer with OAuth 1.0a verification and the timeline page (server), the world it
answers from, what X accepts and refuses (state), and fault injection kept apart from
that behaviour: the faults, X's error bodies, which request meets which fault (faults).

May import: `text/` (it counts and finds URLs as X does), `errors`, `wording`; nothing
from `publish/`, `networks/` or the commands: it must behave like X, not like our client.
"""
