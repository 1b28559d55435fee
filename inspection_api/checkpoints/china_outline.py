"""Where GCJ-02 applies: a coarse outline of mainland China, and Hong Kong and Macau cut out.

Vertices are (longitude, latitude), WGS-84, drawn by hand at roughly 50–150 km resolution
along the land borders and a little offshore along the coast (maps in China shift coastal
waters too). Taiwan lies outside the outline; so does the Korean peninsula (the line follows
the Yalu and Tumen rivers). The outline only decides whether a map link is converted, so a
border town may fall on either side; the tests pin the cities that must not.
"""

from __future__ import annotations

Polygon = tuple[tuple[float, float], ...]

MAINLAND: Polygon = (
    # North Korea: the Yalu and the Tumen.
    (124.1, 39.75),
    (125.3, 40.6),
    (126.9, 41.8),
    (128.1, 41.4),
    (129.0, 42.0),
    (130.6, 42.4),
    # Russia: the Ussuri, the Amur, the Argun.
    (131.3, 43.0),
    (131.3, 44.0),
    (131.0, 44.9),
    (133.1, 45.1),
    (134.8, 48.4),
    (132.5, 47.7),
    (130.7, 48.9),
    (127.7, 50.2),
    (125.0, 53.2),
    (122.5, 53.5),
    (120.0, 52.8),
    (117.8, 49.5),
    # Mongolia.
    (116.6, 49.9),
    (115.5, 48.1),
    (118.5, 47.9),
    (119.7, 47.2),
    (119.9, 46.7),
    (117.4, 46.6),
    (116.2, 45.7),
    (113.6, 44.8),
    (111.9, 43.7),
    (110.4, 42.8),
    (107.0, 42.4),
    (105.0, 41.6),
    (100.8, 42.6),
    (96.4, 42.7),
    (95.3, 44.3),
    (93.5, 45.0),
    (90.9, 45.3),
    (90.7, 47.0),
    (87.9, 49.2),
    # Kazakhstan, Kyrgyzstan, Tajikistan, Afghanistan, Pakistan.
    (86.8, 49.0),
    (85.5, 47.1),
    (83.0, 47.2),
    (82.3, 45.5),
    (79.9, 44.9),
    (80.3, 43.0),
    (80.2, 42.1),
    (78.0, 41.0),
    (76.0, 40.4),
    (73.5, 39.4),
    (74.9, 37.2),
    (75.4, 36.9),
    # India, Nepal, Bhutan.
    (77.8, 35.5),
    (78.5, 34.0),
    (78.8, 31.5),
    (81.0, 30.2),
    (83.5, 29.3),
    (85.9, 28.2),
    (88.1, 27.9),
    (88.9, 27.3),
    (89.5, 28.1),
    (91.6, 27.9),
    (92.1, 27.8),
    (94.0, 29.3),
    (96.0, 29.4),
    (97.5, 28.3),
    # Myanmar, Laos, Vietnam.
    (98.6, 27.5),
    (98.7, 25.9),
    (97.6, 24.8),
    (97.7, 23.85),
    (98.9, 23.2),
    (99.5, 22.1),
    (100.2, 21.5),
    (101.2, 21.2),
    (101.8, 21.2),
    (102.1, 22.4),
    (103.0, 22.6),
    (103.9, 22.45),
    (104.3, 22.75),
    (105.4, 23.2),
    (106.7, 22.9),
    (106.55, 22.0),
    (107.4, 21.6),
    # The coast, offshore: the Gulf of Tonkin, Hainan, the South China Sea.
    (108.0, 21.45),
    (108.3, 19.3),
    (108.5, 18.3),
    (109.5, 17.9),
    (110.3, 18.3),
    (111.2, 19.6),
    (111.0, 20.6),
    (111.5, 21.4),
    (112.8, 21.6),
    (113.8, 21.9),
    (114.8, 22.3),
    (116.5, 22.8),
    (117.5, 23.4),
    (118.8, 24.3),
    # The Taiwan Strait, west of its middle.
    (119.6, 25.0),
    (120.1, 25.6),
    (120.3, 26.6),
    (121.2, 27.8),
    # The East China Sea, the Yellow Sea, the Bohai Strait.
    (122.3, 29.5),
    (122.5, 30.8),
    (122.0, 31.9),
    (121.0, 32.9),
    (120.0, 34.4),
    (119.6, 35.1),
    (120.6, 35.9),
    (121.6, 36.7),
    (122.8, 37.2),
    (122.6, 37.6),
    (121.3, 37.9),
    (121.1, 38.6),
    (122.0, 38.7),
    (123.0, 39.3),
    (123.9, 39.55),
)

# The Shenzhen River and Shenzhen Bay in the north; Lantau and the southern islands included.
HONG_KONG: Polygon = (
    (113.80, 22.13),
    (113.80, 22.40),
    (113.93, 22.43),
    (114.03, 22.505),
    (114.10, 22.53),
    (114.22, 22.555),
    (114.35, 22.56),
    (114.52, 22.45),
    (114.52, 22.13),
)

# The peninsula, Taipa and Coloane (the Gongbei border at about 22.215° N).
MACAU: Polygon = (
    (113.52, 22.10),
    (113.52, 22.215),
    (113.565, 22.215),
    (113.61, 22.17),
    (113.61, 22.10),
)
