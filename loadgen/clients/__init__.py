"""The client view's runners: one small program per client library, run in a process of its own
beside the recorder (:mod:`chaos.appclients` starts them). Each is self-contained (the library
under test and its language's standard library only), so it sees exactly the library's defaults,
and writes the recorder's history format (:mod:`chaos.history`) to the file it is given."""
