"""MapIdeas: the project package (settings, URLs) and the ideas domain.

Native libraries are loaded here, first, on purpose. SpatiaLite is loaded into SQLite with
dlopen(RTLD_GLOBAL), which puts Debian's GEOS into the process-wide symbol scope. Any wheel
loaded after that (shapely, pyogrio, pyproj bundle their own GEOS/GDAL/PROJ) would then bind
its GEOS calls to Debian's copy and crash ("double free", segfaults seen when writing a
GeoPackage). Importing them before any database connection binds each to its own copy.
"""

import pyogrio  # noqa: F401
import pyproj  # noqa: F401
import shapely  # noqa: F401
