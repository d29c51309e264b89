"""Exactly once: the state machine that posts a day's thread and never twice (publisher),
the journal written before and after every create, with the repository lock (journal),
the pure matching of what a timeline shows against what was meant (reconcile), the
front-matter write and one-file commit of the IDs (record), and the ledger of posts
against the monthly cap (ledger).

May import: `text/`, `networks/` (the client it posts through), and the core below it
(`diary`, `thread`, `config`, the git layer, `errors`); nothing from `cli` or `service`,
which call into it.
"""
