"""The viewport's per-cell totals kept on write (issue 7): mapideas_viewportcellcount, one row
per H3 cell and resolution, for the map without filters. Kept by the triggers of migration
0013, which this one extends so that one write updates both summaries in its transaction.

PostgreSQL: the statement-level trigger function now aggregates the transition tables once
into the changes of mapideas_viewportcount (as before) and sums those changes by cell into
mapideas_viewportcellcount, in one statement (a data-modifying WITH). A re-route, which moves
pins between teams and neighborhoods but not between cells, changes no total. Both upserts
go in key order, and every writer does them in the same order: no deadlock between writers.

SQLite: the three row triggers are replaced by ones that update both tables.

The SQL below is a frozen copy of what this migration runs, and of migration 0013's triggers,
which its reverse puts back. The triggers' current SQL is mapideas/map/count_triggers.py,
applied again after every migrate (SQLite drops them when Django rebuilds mapideas_idea).
"""

from django.db import migrations, models

# The function keeping both summaries, and the triggers running it (as migration 0013 made them).
_POSTGRES_FUNCTION = (
    "\n"
    "CREATE OR REPLACE FUNCTION mapideas_viewportcount_sync() RETURNS trigger\n"
    "LANGUAGE plpgsql AS $$\n"
    "BEGIN\n"
    "    IF TG_OP = 'INSERT' THEN\n"
    "        WITH delta AS (SELECT resolution, cell, category_id, status, kind, channel,"
    " team_id, neighborhood_id, SUM(d) AS d"
    " FROM (SELECT r.resolution, r.cell, new_pins.category_id, new_pins.status, new_pins.kind,"
    " new_pins.channel, new_pins.team_id, COALESCE(new_pins.neighborhood_id, 0) AS"
    " neighborhood_id, 1 AS d FROM new_pins"
    " CROSS JOIN LATERAL (VALUES (7, COALESCE(new_pins.h3_res7, 0)), (8,"
    " COALESCE(new_pins.h3_res8, 0)), (9, COALESCE(new_pins.h3_res9, 0))) AS r(resolution,"
    " cell)"
    " WHERE new_pins.awaiting_confirmation = false AND new_pins.hidden_by_moderation_at IS"
    " NULL) AS x"
    " GROUP BY resolution, cell, category_id, status, kind, channel, team_id, neighborhood_id"
    " HAVING SUM(d) <> 0),"
    " counted AS (INSERT INTO mapideas_viewportcount AS v (resolution, cell, category_id,"
    " status, kind, channel, team_id, neighborhood_id, n) SELECT resolution, cell,"
    " category_id, status, kind, channel, team_id, neighborhood_id, d FROM delta"
    " ORDER BY resolution, cell, category_id, status, kind, channel, team_id, neighborhood_id"
    " ON CONFLICT (resolution, cell, category_id, status, kind, channel, team_id,"
    " neighborhood_id) DO UPDATE SET n = v.n + EXCLUDED.n)"
    " INSERT INTO mapideas_viewportcellcount AS c (resolution, cell, n) SELECT resolution,"
    " cell, SUM(d) FROM delta GROUP BY resolution, cell HAVING SUM(d) <> 0"
    " ORDER BY resolution, cell"
    " ON CONFLICT (resolution, cell) DO UPDATE SET n = c.n + EXCLUDED.n;\n"
    "    ELSIF TG_OP = 'DELETE' THEN\n"
    "        WITH delta AS (SELECT resolution, cell, category_id, status, kind, channel,"
    " team_id, neighborhood_id, SUM(d) AS d"
    " FROM (SELECT r.resolution, r.cell, old_pins.category_id, old_pins.status, old_pins.kind,"
    " old_pins.channel, old_pins.team_id, COALESCE(old_pins.neighborhood_id, 0) AS"
    " neighborhood_id, -1 AS d FROM old_pins"
    " CROSS JOIN LATERAL (VALUES (7, COALESCE(old_pins.h3_res7, 0)), (8,"
    " COALESCE(old_pins.h3_res8, 0)), (9, COALESCE(old_pins.h3_res9, 0))) AS r(resolution,"
    " cell)"
    " WHERE old_pins.awaiting_confirmation = false AND old_pins.hidden_by_moderation_at IS"
    " NULL) AS x"
    " GROUP BY resolution, cell, category_id, status, kind, channel, team_id, neighborhood_id"
    " HAVING SUM(d) <> 0),"
    " counted AS (INSERT INTO mapideas_viewportcount AS v (resolution, cell, category_id,"
    " status, kind, channel, team_id, neighborhood_id, n) SELECT resolution, cell,"
    " category_id, status, kind, channel, team_id, neighborhood_id, d FROM delta"
    " ORDER BY resolution, cell, category_id, status, kind, channel, team_id, neighborhood_id"
    " ON CONFLICT (resolution, cell, category_id, status, kind, channel, team_id,"
    " neighborhood_id) DO UPDATE SET n = v.n + EXCLUDED.n)"
    " INSERT INTO mapideas_viewportcellcount AS c (resolution, cell, n) SELECT resolution,"
    " cell, SUM(d) FROM delta GROUP BY resolution, cell HAVING SUM(d) <> 0"
    " ORDER BY resolution, cell"
    " ON CONFLICT (resolution, cell) DO UPDATE SET n = c.n + EXCLUDED.n;\n"
    "    ELSE\n"
    "        WITH delta AS (SELECT resolution, cell, category_id, status, kind, channel,"
    " team_id, neighborhood_id, SUM(d) AS d"
    " FROM (SELECT r.resolution, r.cell, old_pins.category_id, old_pins.status, old_pins.kind,"
    " old_pins.channel, old_pins.team_id, COALESCE(old_pins.neighborhood_id, 0) AS"
    " neighborhood_id, -1 AS d FROM old_pins"
    " CROSS JOIN LATERAL (VALUES (7, COALESCE(old_pins.h3_res7, 0)), (8,"
    " COALESCE(old_pins.h3_res8, 0)), (9, COALESCE(old_pins.h3_res9, 0))) AS r(resolution,"
    " cell)"
    " WHERE old_pins.awaiting_confirmation = false AND old_pins.hidden_by_moderation_at IS NULL"
    " UNION ALL"
    " SELECT r.resolution, r.cell, new_pins.category_id, new_pins.status, new_pins.kind,"
    " new_pins.channel, new_pins.team_id, COALESCE(new_pins.neighborhood_id, 0) AS"
    " neighborhood_id, 1 AS d FROM new_pins"
    " CROSS JOIN LATERAL (VALUES (7, COALESCE(new_pins.h3_res7, 0)), (8,"
    " COALESCE(new_pins.h3_res8, 0)), (9, COALESCE(new_pins.h3_res9, 0))) AS r(resolution,"
    " cell)"
    " WHERE new_pins.awaiting_confirmation = false AND new_pins.hidden_by_moderation_at IS"
    " NULL) AS x"
    " GROUP BY resolution, cell, category_id, status, kind, channel, team_id, neighborhood_id"
    " HAVING SUM(d) <> 0),"
    " counted AS (INSERT INTO mapideas_viewportcount AS v (resolution, cell, category_id,"
    " status, kind, channel, team_id, neighborhood_id, n) SELECT resolution, cell,"
    " category_id, status, kind, channel, team_id, neighborhood_id, d FROM delta"
    " ORDER BY resolution, cell, category_id, status, kind, channel, team_id, neighborhood_id"
    " ON CONFLICT (resolution, cell, category_id, status, kind, channel, team_id,"
    " neighborhood_id) DO UPDATE SET n = v.n + EXCLUDED.n)"
    " INSERT INTO mapideas_viewportcellcount AS c (resolution, cell, n) SELECT resolution,"
    " cell, SUM(d) FROM delta GROUP BY resolution, cell HAVING SUM(d) <> 0"
    " ORDER BY resolution, cell"
    " ON CONFLICT (resolution, cell) DO UPDATE SET n = c.n + EXCLUDED.n;\n"
    "   "
    " END IF;\n"
    "    RETURN NULL;\n"
    "END\n"
    "$$\n"
)

_POSTGRES_TRIGGERS = [
    "DROP TRIGGER IF EXISTS mapideas_viewportcount_insert ON mapideas_idea",
    "DROP TRIGGER IF EXISTS mapideas_viewportcount_update ON mapideas_idea",
    "DROP TRIGGER IF EXISTS mapideas_viewportcount_delete ON mapideas_idea",
    "CREATE TRIGGER mapideas_viewportcount_insert AFTER INSERT ON mapideas_idea"
    " REFERENCING NEW TABLE AS new_pins"
    " FOR EACH STATEMENT EXECUTE FUNCTION mapideas_viewportcount_sync()",
    "CREATE TRIGGER mapideas_viewportcount_update AFTER UPDATE ON mapideas_idea"
    " REFERENCING OLD TABLE AS old_pins NEW TABLE AS new_pins"
    " FOR EACH STATEMENT EXECUTE FUNCTION mapideas_viewportcount_sync()",
    "CREATE TRIGGER mapideas_viewportcount_delete AFTER DELETE ON mapideas_idea"
    " REFERENCING OLD TABLE AS old_pins"
    " FOR EACH STATEMENT EXECUTE FUNCTION mapideas_viewportcount_sync()",
]

POSTGRES_INSTALL = [_POSTGRES_FUNCTION, *_POSTGRES_TRIGGERS]

# SQLite: the row triggers of 0013 replaced by ones that also keep the totals.
SQLITE_INSTALL = [
    "DROP TRIGGER IF EXISTS mapideas_viewportcount_insert",
    "DROP TRIGGER IF EXISTS mapideas_viewportcount_delete",
    "DROP TRIGGER IF EXISTS mapideas_viewportcount_update",
    "CREATE TRIGGER IF NOT EXISTS mapideas_viewportcount_insert AFTER INSERT ON mapideas_idea"
    " BEGIN"
    " INSERT INTO mapideas_viewportcount (resolution, cell, category_id, status, kind,"
    " channel, team_id, neighborhood_id, n) SELECT *"
    " FROM (VALUES (7, COALESCE(NEW.h3_res7, 0), NEW.category_id, NEW.status, NEW.kind,"
    " NEW.channel, NEW.team_id, COALESCE(NEW.neighborhood_id, 0), 1), (8,"
    " COALESCE(NEW.h3_res8, 0), NEW.category_id, NEW.status, NEW.kind, NEW.channel,"
    " NEW.team_id, COALESCE(NEW.neighborhood_id, 0), 1), (9, COALESCE(NEW.h3_res9, 0),"
    " NEW.category_id, NEW.status, NEW.kind, NEW.channel, NEW.team_id,"
    " COALESCE(NEW.neighborhood_id, 0), 1))"
    " WHERE NEW.awaiting_confirmation = false AND NEW.hidden_by_moderation_at IS NULL"
    " ON CONFLICT (resolution, cell, category_id, status, kind, channel, team_id,"
    " neighborhood_id) DO UPDATE SET n = n + 1;"
    " INSERT INTO mapideas_viewportcellcount (resolution, cell, n) SELECT *"
    " FROM (VALUES (7, COALESCE(NEW.h3_res7, 0), 1), (8, COALESCE(NEW.h3_res8, 0), 1), (9,"
    " COALESCE(NEW.h3_res9, 0), 1))"
    " WHERE NEW.awaiting_confirmation = false AND NEW.hidden_by_moderation_at IS NULL"
    " ON CONFLICT (resolution, cell) DO UPDATE SET n = n + 1;"
    " END",
    "CREATE TRIGGER IF NOT EXISTS mapideas_viewportcount_delete AFTER DELETE ON mapideas_idea"
    " BEGIN"
    " UPDATE mapideas_viewportcount SET n = n - 1"
    " WHERE OLD.awaiting_confirmation = false AND OLD.hidden_by_moderation_at IS NULL"
    " AND ((resolution = 7 AND cell = COALESCE(OLD.h3_res7, 0)) OR (resolution = 8 AND cell ="
    " COALESCE(OLD.h3_res8, 0)) OR (resolution = 9 AND cell = COALESCE(OLD.h3_res9, 0))) AND"
    " category_id = OLD.category_id AND status = OLD.status AND kind = OLD.kind AND channel ="
    " OLD.channel AND team_id = OLD.team_id AND neighborhood_id ="
    " COALESCE(OLD.neighborhood_id, 0);"
    " UPDATE mapideas_viewportcellcount SET n = n - 1"
    " WHERE OLD.awaiting_confirmation = false AND OLD.hidden_by_moderation_at IS NULL"
    " AND ((resolution = 7 AND cell = COALESCE(OLD.h3_res7, 0)) OR (resolution = 8 AND cell ="
    " COALESCE(OLD.h3_res8, 0)) OR (resolution = 9 AND cell = COALESCE(OLD.h3_res9, 0)));"
    " END",
    "CREATE TRIGGER IF NOT EXISTS mapideas_viewportcount_update AFTER UPDATE ON mapideas_idea"
    " WHEN OLD.h3_res7 IS NOT NEW.h3_res7 OR OLD.h3_res8 IS NOT NEW.h3_res8 OR OLD.h3_res9 IS"
    " NOT NEW.h3_res9 OR OLD.category_id IS NOT NEW.category_id OR OLD.status IS NOT"
    " NEW.status OR OLD.kind IS NOT NEW.kind OR OLD.channel IS NOT NEW.channel OR OLD.team_id"
    " IS NOT NEW.team_id OR OLD.neighborhood_id IS NOT NEW.neighborhood_id OR"
    " OLD.awaiting_confirmation IS NOT NEW.awaiting_confirmation OR"
    " OLD.hidden_by_moderation_at IS NOT NEW.hidden_by_moderation_at BEGIN"
    " UPDATE mapideas_viewportcount SET n = n - 1"
    " WHERE OLD.awaiting_confirmation = false AND OLD.hidden_by_moderation_at IS NULL"
    " AND ((resolution = 7 AND cell = COALESCE(OLD.h3_res7, 0)) OR (resolution = 8 AND cell ="
    " COALESCE(OLD.h3_res8, 0)) OR (resolution = 9 AND cell = COALESCE(OLD.h3_res9, 0))) AND"
    " category_id = OLD.category_id AND status = OLD.status AND kind = OLD.kind AND channel ="
    " OLD.channel AND team_id = OLD.team_id AND neighborhood_id ="
    " COALESCE(OLD.neighborhood_id, 0);"
    " INSERT INTO mapideas_viewportcount (resolution, cell, category_id, status, kind,"
    " channel, team_id, neighborhood_id, n) SELECT *"
    " FROM (VALUES (7, COALESCE(NEW.h3_res7, 0), NEW.category_id, NEW.status, NEW.kind,"
    " NEW.channel, NEW.team_id, COALESCE(NEW.neighborhood_id, 0), 1), (8,"
    " COALESCE(NEW.h3_res8, 0), NEW.category_id, NEW.status, NEW.kind, NEW.channel,"
    " NEW.team_id, COALESCE(NEW.neighborhood_id, 0), 1), (9, COALESCE(NEW.h3_res9, 0),"
    " NEW.category_id, NEW.status, NEW.kind, NEW.channel, NEW.team_id,"
    " COALESCE(NEW.neighborhood_id, 0), 1))"
    " WHERE NEW.awaiting_confirmation = false AND NEW.hidden_by_moderation_at IS NULL"
    " ON CONFLICT (resolution, cell, category_id, status, kind, channel, team_id,"
    " neighborhood_id) DO UPDATE SET n = n + 1;"
    " END",
    "CREATE TRIGGER IF NOT EXISTS mapideas_viewportcellcount_update AFTER UPDATE ON"
    " mapideas_idea"
    " WHEN OLD.h3_res7 IS NOT NEW.h3_res7 OR OLD.h3_res8 IS NOT NEW.h3_res8 OR OLD.h3_res9 IS"
    " NOT NEW.h3_res9 OR OLD.awaiting_confirmation IS NOT NEW.awaiting_confirmation OR"
    " OLD.hidden_by_moderation_at IS NOT NEW.hidden_by_moderation_at BEGIN"
    " UPDATE mapideas_viewportcellcount SET n = n - 1"
    " WHERE OLD.awaiting_confirmation = false AND OLD.hidden_by_moderation_at IS NULL"
    " AND ((resolution = 7 AND cell = COALESCE(OLD.h3_res7, 0)) OR (resolution = 8 AND cell ="
    " COALESCE(OLD.h3_res8, 0)) OR (resolution = 9 AND cell = COALESCE(OLD.h3_res9, 0)));"
    " INSERT INTO mapideas_viewportcellcount (resolution, cell, n) SELECT *"
    " FROM (VALUES (7, COALESCE(NEW.h3_res7, 0), 1), (8, COALESCE(NEW.h3_res8, 0), 1), (9,"
    " COALESCE(NEW.h3_res9, 0), 1))"
    " WHERE NEW.awaiting_confirmation = false AND NEW.hidden_by_moderation_at IS NULL"
    " ON CONFLICT (resolution, cell) DO UPDATE SET n = n + 1;"
    " END",
]

SQLITE_UNINSTALL = [
    "DROP TRIGGER IF EXISTS mapideas_viewportcount_insert",
    "DROP TRIGGER IF EXISTS mapideas_viewportcount_delete",
    "DROP TRIGGER IF EXISTS mapideas_viewportcount_update",
    "DROP TRIGGER IF EXISTS mapideas_viewportcellcount_update",
]

# Every count of both summaries from the pins themselves (the backfill).
REBUILD = [
    "DELETE FROM mapideas_viewportcount",
    "INSERT INTO mapideas_viewportcount (resolution, cell, category_id, status, kind, channel,"
    " team_id, neighborhood_id, n) SELECT resolution, cell, category_id, status, kind,"
    " channel, team_id, neighborhood_id, COUNT(*)"
    " FROM (SELECT 7 AS resolution, COALESCE(h3_res7, 0) AS cell, category_id, status, kind,"
    " channel, team_id, COALESCE(neighborhood_id, 0) AS neighborhood_id FROM mapideas_idea p"
    " WHERE p.awaiting_confirmation = false AND p.hidden_by_moderation_at IS NULL"
    " UNION ALL SELECT 8 AS resolution, COALESCE(h3_res8, 0) AS cell, category_id, status,"
    " kind, channel, team_id, COALESCE(neighborhood_id, 0) AS neighborhood_id"
    " FROM mapideas_idea p"
    " WHERE p.awaiting_confirmation = false AND p.hidden_by_moderation_at IS NULL"
    " UNION ALL SELECT 9 AS resolution, COALESCE(h3_res9, 0) AS cell, category_id, status,"
    " kind, channel, team_id, COALESCE(neighborhood_id, 0) AS neighborhood_id"
    " FROM mapideas_idea p"
    " WHERE p.awaiting_confirmation = false AND p.hidden_by_moderation_at IS NULL) AS x"
    " GROUP BY resolution, cell, category_id, status, kind, channel, team_id, neighborhood_id",
    "DELETE FROM mapideas_viewportcellcount",
    "INSERT INTO mapideas_viewportcellcount (resolution, cell, n) SELECT resolution, cell,"
    " COUNT(*) FROM (SELECT 7 AS resolution, COALESCE(h3_res7, 0) AS cell FROM mapideas_idea p"
    " WHERE p.awaiting_confirmation = false AND p.hidden_by_moderation_at IS NULL"
    " UNION ALL SELECT 8 AS resolution, COALESCE(h3_res8, 0) AS cell FROM mapideas_idea p"
    " WHERE p.awaiting_confirmation = false AND p.hidden_by_moderation_at IS NULL"
    " UNION ALL SELECT 9 AS resolution, COALESCE(h3_res9, 0) AS cell FROM mapideas_idea p"
    " WHERE p.awaiting_confirmation = false AND p.hidden_by_moderation_at IS NULL) AS x"
    " GROUP BY resolution, cell",
]

# Migration 0013's function and SQLite triggers, put back by the reverse of this migration.
_POSTGRES_FUNCTION_0013 = (
    "\n"
    "CREATE OR REPLACE FUNCTION mapideas_viewportcount_sync() RETURNS trigger\n"
    "LANGUAGE plpgsql AS $$\n"
    "BEGIN\n"
    "    IF TG_OP = 'INSERT' THEN\n"
    "       "
    " INSERT INTO mapideas_viewportcount AS v (resolution, cell, category_id, status, kind,"
    " channel, team_id, neighborhood_id, n) SELECT resolution, cell, category_id, status,"
    " kind, channel, team_id, neighborhood_id, SUM(d)"
    " FROM (SELECT r.resolution, r.cell, new_pins.category_id, new_pins.status, new_pins.kind,"
    " new_pins.channel, new_pins.team_id, COALESCE(new_pins.neighborhood_id, 0) AS"
    " neighborhood_id, 1 AS d FROM new_pins"
    " CROSS JOIN LATERAL (VALUES (7, COALESCE(new_pins.h3_res7, 0)), (8,"
    " COALESCE(new_pins.h3_res8, 0)), (9, COALESCE(new_pins.h3_res9, 0))) AS r(resolution,"
    " cell)"
    " WHERE new_pins.awaiting_confirmation = false AND new_pins.hidden_by_moderation_at IS"
    " NULL) AS x"
    " GROUP BY resolution, cell, category_id, status, kind, channel, team_id, neighborhood_id"
    " HAVING SUM(d) <> 0"
    " ORDER BY resolution, cell, category_id, status, kind, channel, team_id, neighborhood_id"
    " ON CONFLICT (resolution, cell, category_id, status, kind, channel, team_id,"
    " neighborhood_id) DO UPDATE SET n = v.n + EXCLUDED.n;\n"
    "    ELSIF TG_OP = 'DELETE' THEN\n"
    "       "
    " INSERT INTO mapideas_viewportcount AS v (resolution, cell, category_id, status, kind,"
    " channel, team_id, neighborhood_id, n) SELECT resolution, cell, category_id, status,"
    " kind, channel, team_id, neighborhood_id, SUM(d)"
    " FROM (SELECT r.resolution, r.cell, old_pins.category_id, old_pins.status, old_pins.kind,"
    " old_pins.channel, old_pins.team_id, COALESCE(old_pins.neighborhood_id, 0) AS"
    " neighborhood_id, -1 AS d FROM old_pins"
    " CROSS JOIN LATERAL (VALUES (7, COALESCE(old_pins.h3_res7, 0)), (8,"
    " COALESCE(old_pins.h3_res8, 0)), (9, COALESCE(old_pins.h3_res9, 0))) AS r(resolution,"
    " cell)"
    " WHERE old_pins.awaiting_confirmation = false AND old_pins.hidden_by_moderation_at IS"
    " NULL) AS x"
    " GROUP BY resolution, cell, category_id, status, kind, channel, team_id, neighborhood_id"
    " HAVING SUM(d) <> 0"
    " ORDER BY resolution, cell, category_id, status, kind, channel, team_id, neighborhood_id"
    " ON CONFLICT (resolution, cell, category_id, status, kind, channel, team_id,"
    " neighborhood_id) DO UPDATE SET n = v.n + EXCLUDED.n;\n"
    "    ELSE\n"
    "       "
    " INSERT INTO mapideas_viewportcount AS v (resolution, cell, category_id, status, kind,"
    " channel, team_id, neighborhood_id, n) SELECT resolution, cell, category_id, status,"
    " kind, channel, team_id, neighborhood_id, SUM(d)"
    " FROM (SELECT r.resolution, r.cell, old_pins.category_id, old_pins.status, old_pins.kind,"
    " old_pins.channel, old_pins.team_id, COALESCE(old_pins.neighborhood_id, 0) AS"
    " neighborhood_id, -1 AS d FROM old_pins"
    " CROSS JOIN LATERAL (VALUES (7, COALESCE(old_pins.h3_res7, 0)), (8,"
    " COALESCE(old_pins.h3_res8, 0)), (9, COALESCE(old_pins.h3_res9, 0))) AS r(resolution,"
    " cell)"
    " WHERE old_pins.awaiting_confirmation = false AND old_pins.hidden_by_moderation_at IS NULL"
    " UNION ALL"
    " SELECT r.resolution, r.cell, new_pins.category_id, new_pins.status, new_pins.kind,"
    " new_pins.channel, new_pins.team_id, COALESCE(new_pins.neighborhood_id, 0) AS"
    " neighborhood_id, 1 AS d FROM new_pins"
    " CROSS JOIN LATERAL (VALUES (7, COALESCE(new_pins.h3_res7, 0)), (8,"
    " COALESCE(new_pins.h3_res8, 0)), (9, COALESCE(new_pins.h3_res9, 0))) AS r(resolution,"
    " cell)"
    " WHERE new_pins.awaiting_confirmation = false AND new_pins.hidden_by_moderation_at IS"
    " NULL) AS x"
    " GROUP BY resolution, cell, category_id, status, kind, channel, team_id, neighborhood_id"
    " HAVING SUM(d) <> 0"
    " ORDER BY resolution, cell, category_id, status, kind, channel, team_id, neighborhood_id"
    " ON CONFLICT (resolution, cell, category_id, status, kind, channel, team_id,"
    " neighborhood_id) DO UPDATE SET n = v.n + EXCLUDED.n;\n"
    "   "
    " END IF;\n"
    "    RETURN NULL;\n"
    "END\n"
    "$$\n"
)

POSTGRES_INSTALL_0013 = [_POSTGRES_FUNCTION_0013, *_POSTGRES_TRIGGERS]

SQLITE_INSTALL_0013 = [
    "CREATE TRIGGER IF NOT EXISTS mapideas_viewportcount_insert AFTER INSERT ON mapideas_idea"
    " BEGIN"
    " INSERT INTO mapideas_viewportcount (resolution, cell, category_id, status, kind,"
    " channel, team_id, neighborhood_id, n) SELECT *"
    " FROM (VALUES (7, COALESCE(NEW.h3_res7, 0), NEW.category_id, NEW.status, NEW.kind,"
    " NEW.channel, NEW.team_id, COALESCE(NEW.neighborhood_id, 0), 1), (8,"
    " COALESCE(NEW.h3_res8, 0), NEW.category_id, NEW.status, NEW.kind, NEW.channel,"
    " NEW.team_id, COALESCE(NEW.neighborhood_id, 0), 1), (9, COALESCE(NEW.h3_res9, 0),"
    " NEW.category_id, NEW.status, NEW.kind, NEW.channel, NEW.team_id,"
    " COALESCE(NEW.neighborhood_id, 0), 1))"
    " WHERE NEW.awaiting_confirmation = false AND NEW.hidden_by_moderation_at IS NULL"
    " ON CONFLICT (resolution, cell, category_id, status, kind, channel, team_id,"
    " neighborhood_id) DO UPDATE SET n = n + 1;"
    " END",
    "CREATE TRIGGER IF NOT EXISTS mapideas_viewportcount_delete AFTER DELETE ON mapideas_idea"
    " BEGIN"
    " UPDATE mapideas_viewportcount SET n = n - 1"
    " WHERE OLD.awaiting_confirmation = false AND OLD.hidden_by_moderation_at IS NULL"
    " AND ((resolution = 7 AND cell = COALESCE(OLD.h3_res7, 0)) OR (resolution = 8 AND cell ="
    " COALESCE(OLD.h3_res8, 0)) OR (resolution = 9 AND cell = COALESCE(OLD.h3_res9, 0))) AND"
    " category_id = OLD.category_id AND status = OLD.status AND kind = OLD.kind AND channel ="
    " OLD.channel AND team_id = OLD.team_id AND neighborhood_id ="
    " COALESCE(OLD.neighborhood_id, 0);"
    " END",
    "CREATE TRIGGER IF NOT EXISTS mapideas_viewportcount_update AFTER UPDATE ON mapideas_idea"
    " WHEN OLD.h3_res7 IS NOT NEW.h3_res7 OR OLD.h3_res8 IS NOT NEW.h3_res8 OR OLD.h3_res9 IS"
    " NOT NEW.h3_res9 OR OLD.category_id IS NOT NEW.category_id OR OLD.status IS NOT"
    " NEW.status OR OLD.kind IS NOT NEW.kind OR OLD.channel IS NOT NEW.channel OR OLD.team_id"
    " IS NOT NEW.team_id OR OLD.neighborhood_id IS NOT NEW.neighborhood_id OR"
    " OLD.awaiting_confirmation IS NOT NEW.awaiting_confirmation OR"
    " OLD.hidden_by_moderation_at IS NOT NEW.hidden_by_moderation_at BEGIN"
    " UPDATE mapideas_viewportcount SET n = n - 1"
    " WHERE OLD.awaiting_confirmation = false AND OLD.hidden_by_moderation_at IS NULL"
    " AND ((resolution = 7 AND cell = COALESCE(OLD.h3_res7, 0)) OR (resolution = 8 AND cell ="
    " COALESCE(OLD.h3_res8, 0)) OR (resolution = 9 AND cell = COALESCE(OLD.h3_res9, 0))) AND"
    " category_id = OLD.category_id AND status = OLD.status AND kind = OLD.kind AND channel ="
    " OLD.channel AND team_id = OLD.team_id AND neighborhood_id ="
    " COALESCE(OLD.neighborhood_id, 0);"
    " INSERT INTO mapideas_viewportcount (resolution, cell, category_id, status, kind,"
    " channel, team_id, neighborhood_id, n) SELECT *"
    " FROM (VALUES (7, COALESCE(NEW.h3_res7, 0), NEW.category_id, NEW.status, NEW.kind,"
    " NEW.channel, NEW.team_id, COALESCE(NEW.neighborhood_id, 0), 1), (8,"
    " COALESCE(NEW.h3_res8, 0), NEW.category_id, NEW.status, NEW.kind, NEW.channel,"
    " NEW.team_id, COALESCE(NEW.neighborhood_id, 0), 1), (9, COALESCE(NEW.h3_res9, 0),"
    " NEW.category_id, NEW.status, NEW.kind, NEW.channel, NEW.team_id,"
    " COALESCE(NEW.neighborhood_id, 0), 1))"
    " WHERE NEW.awaiting_confirmation = false AND NEW.hidden_by_moderation_at IS NULL"
    " ON CONFLICT (resolution, cell, category_id, status, kind, channel, team_id,"
    " neighborhood_id) DO UPDATE SET n = n + 1;"
    " END",
]


def _install(apps, schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    for sql in [*(POSTGRES_INSTALL if vendor == "postgresql" else SQLITE_INSTALL), *REBUILD]:
        schema_editor.execute(sql, params=None)


def _back_to_0013(apps, schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    for sql in SQLITE_UNINSTALL if vendor == "sqlite" else []:
        schema_editor.execute(sql, params=None)
    for sql in POSTGRES_INSTALL_0013 if vendor == "postgresql" else SQLITE_INSTALL_0013:
        schema_editor.execute(sql, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("mapideas", "0014_category_name_translations"),
    ]

    operations = [
        migrations.CreateModel(
            name="ViewportCellCount",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("resolution", models.PositiveSmallIntegerField()),
                ("cell", models.BigIntegerField()),
                ("n", models.BigIntegerField()),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("resolution", "cell"), name="viewportcellcount_key"
                    )
                ],
            },
        ),
        migrations.RunPython(_install, _back_to_0013),
    ]
