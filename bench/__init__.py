"""`make bench`: MapIdeas' own figures against floors measured in the same run.

Each row times one product operation and, on the same data and in the same process, the
bare database operation it cannot be faster than (its floor), and reports the ratio. Nothing
here is a test: pytest only collects tests/, and the results are never committed (they go to
var/bench/latest.json).

    bench/data.py    builds the city: the demo polygons through the real importer, two
                     boundary versions, and BENCH_IDEAS ideas generated in SQL
    bench/rows.py    the measurements, one function per row returning value + floor
    bench/__main__   `python -m bench run` (one backend, chosen by DATABASE_URL) and
                     `python -m bench merge` (table + JSON of several runs)
    scripts/bench.sh runs it on PostGIS and on SpatiaLite, then merges
"""
