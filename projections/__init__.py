"""Read models: one module per read model, each declaring NAME, create_tables and HANDLERS.

A handler turns one event into row changes; it never calls the application and never
reads the event store. PROJECTIONS lists every module the runner applies.
"""

from projections import (
    audit,
    clients,
    console,
    keys,
    mail,
    passkeys,
    payments,
    pins,
    plans,
    refresh,
    sessions,
    tokens,
    users,
    webhooks,
)

# Order matters where one read model looks up another's rows: audit reads users and
# refresh_families, pins and payments (written first) and action_links (deleted by mail afterwards);
# pins and sessions read users;
# console reads users, refresh_families, payments and plans.
PROJECTIONS = (clients, plans, keys, tokens, users, refresh, sessions, pins, passkeys, payments, audit, console, mail,
               webhooks)
