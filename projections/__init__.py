"""Read models: one module per read model, each declaring NAME, create_tables and HANDLERS.

A handler turns one event into row changes; it never calls the application and never
reads the event store. PROJECTIONS lists every module the runner applies.
"""

from projections import clients, keys, mail, refresh, tokens, users

PROJECTIONS = (clients, keys, tokens, users, refresh, mail)
