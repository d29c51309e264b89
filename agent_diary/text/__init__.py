"""The pure text pipeline: an entry's bytes to the posts of a thread, with no I/O.

Parsing an entry and its front matter and the surgical write of tweet IDs (entry,
safeyaml), rendering the template and the Markdown (render), counting as X does
(twittertext, urlscan, with the generated tables in _tables), splitting into posts
(split), repeated posts X would refuse (repeats), and what an image is by its bytes and
what a post may carry (media). Every function takes text or bytes and returns values or
raises `InputError`; reading files, git and the network happen in the callers.

May import: `errors` (and `config` for parsing a time and for types); nothing from
`publish/`, `networks/` or `emulator/`, which all build on this package.
"""
