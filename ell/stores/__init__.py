"""ell-ai's store module paths, kept so ell-ai programs run unchanged (`ell.stores.sql.SQLiteStore`)."""
