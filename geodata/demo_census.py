"""Public figures of Chicago's 77 community areas, for the demo city (geodata.demo), by
community area number (the shapefile's AREA_NUMBE). Kept in code: the demo loads offline.

- Population: the 2020 US Census (decennial count, P.L. 94-171 redistricting data) by community
  area, as published in the table of Wikipedia's "Community areas in Chicago" (which cites the
  Census Bureau and the City of Chicago). The 77 areas add up to 2,746,388, Chicago's 2020
  census population.
- Per capita income (US dollars) and the share of households below the federal poverty level
  (percent, 0-100): "Census Data - Selected socioeconomic indicators in Chicago, 2008 - 2012"
  (City of Chicago Data Portal, dataset kn9c-c2s2, from the American Community Survey 5-year
  estimates 2008-2012). Older than the population count: the portal publishes no later table of
  these indicators by community area; they serve to compare areas, not to date them.

Area-level figures, about a neighborhood, never about a person.
"""

# Attribute names, as Neighborhood.attributes stores them (neighborhoods.services.attributes_set).
PER_CAPITA_INCOME = "per_capita_income"
HOUSEHOLDS_BELOW_POVERTY_PCT = "households_below_poverty_pct"
ATTRIBUTE_NAMES = (PER_CAPITA_INCOME, HOUSEHOLDS_BELOW_POVERTY_PCT)

# Community area number: (population 2020, per capita income 2008-2012, % of households below
# poverty 2008-2012).
AREA_FIGURES: dict[int, tuple[int, int, float]] = {
    1: (55628, 23939, 23.6),  # Rogers Park
    2: (77122, 23040, 17.2),  # West Ridge
    3: (57182, 35787, 24.0),  # Uptown
    4: (40494, 37524, 10.9),  # Lincoln Square
    5: (35114, 57123, 7.5),  # North Center
    6: (103050, 60058, 11.4),  # Lake View
    7: (70492, 71551, 12.3),  # Lincoln Park
    8: (105481, 88669, 12.9),  # Near North Side
    9: (11525, 40959, 3.3),  # Edison Park
    10: (38303, 32875, 5.4),  # Norwood Park
    11: (26216, 27751, 8.6),  # Jefferson Park
    12: (19596, 44164, 7.5),  # Forest Glen
    13: (17559, 26576, 13.2),  # North Park
    14: (48396, 21323, 19.2),  # Albany Park
    15: (63020, 24336, 11.6),  # Portage Park
    16: (51940, 27249, 13.1),  # Irving Park
    17: (43147, 26282, 10.6),  # Dunning
    18: (14401, 22014, 15.3),  # Montclare
    19: (78116, 15461, 18.7),  # Belmont Cragin
    20: (24062, 15089, 20.5),  # Hermosa
    21: (36257, 20039, 15.3),  # Avondale
    22: (71665, 31908, 16.8),  # Logan Square
    23: (54165, 13781, 33.9),  # Humboldt Park
    24: (87781, 43198, 14.7),  # West Town
    25: (96557, 15957, 28.6),  # Austin
    26: (17433, 10934, 41.7),  # West Garfield Park
    27: (19992, 12961, 42.4),  # East Garfield Park
    28: (67881, 44689, 20.6),  # Near West Side
    29: (34794, 12034, 43.1),  # North Lawndale
    30: (71399, 10402, 30.7),  # South Lawndale
    31: (33751, 16444, 25.8),  # Lower West Side
    32: (42298, 65526, 14.7),  # Loop
    33: (28795, 59077, 13.8),  # Near South Side
    34: (13890, 16148, 40.1),  # Armour Square
    35: (20291, 23791, 29.6),  # Douglas
    36: (6799, 19252, 39.7),  # Oakland
    37: (2567, 10432, 51.2),  # Fuller Park
    38: (24589, 23472, 29.3),  # Grand Boulevard
    39: (19116, 35911, 21.7),  # Kenwood
    40: (12707, 13785, 42.1),  # Washington Park
    41: (29456, 39056, 18.4),  # Hyde Park
    42: (24425, 18672, 30.7),  # Woodlawn
    43: (53971, 19398, 31.1),  # South Shore
    44: (31710, 18881, 27.8),  # Chatham
    45: (9458, 24454, 17.2),  # Avalon Park
    46: (27300, 16579, 29.8),  # South Chicago
    47: (2527, 12515, 33.0),  # Burnside
    48: (13088, 28887, 11.5),  # Calumet Heights
    49: (38816, 17949, 19.8),  # Roseland
    50: (6820, 20588, 21.6),  # Pullman
    51: (14105, 14685, 29.2),  # South Deering
    52: (21724, 17104, 19.2),  # East Side
    53: (26104, 16563, 25.9),  # West Pullman
    54: (7262, 8201, 56.5),  # Riverdale
    55: (10027, 22677, 17.1),  # Hegewisch
    56: (35439, 26353, 8.8),  # Garfield Ridge
    57: (14196, 16134, 14.1),  # Archer Heights
    58: (45053, 13089, 23.6),  # Brighton Park
    59: (15923, 16954, 18.7),  # McKinley Park
    60: (33702, 22694, 18.9),  # Bridgeport
    61: (43628, 12765, 29.0),  # New City
    62: (18394, 15754, 15.6),  # West Elsdon
    63: (39540, 12171, 23.4),  # Gage Park
    64: (24473, 25113, 8.9),  # Clearing
    65: (33662, 16907, 14.9),  # West Lawn
    66: (55931, 13231, 27.9),  # Chicago Lawn
    67: (29647, 11317, 34.4),  # West Englewood
    68: (24369, 11888, 46.6),  # Englewood
    69: (31471, 17285, 29.6),  # Greater Grand Crossing
    70: (41098, 23482, 10.4),  # Ashburn
    71: (44878, 15528, 27.6),  # Auburn Gresham
    72: (20027, 39523, 5.1),  # Beverly
    73: (25065, 19713, 16.9),  # Washington Heights
    74: (18628, 34381, 3.4),  # Mount Greenwood
    75: (21186, 27149, 13.2),  # Morgan Park
    76: (13418, 25828, 15.4),  # O'Hare
    77: (56296, 33385, 18.2),  # Edgewater
}

CENSUS_2020_TOTAL = 2_746_388
