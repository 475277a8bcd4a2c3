"""Fixed vocabularies the world generator draws from: people, places, products, ledger lines."""

from __future__ import annotations

FIRST_NAMES = (
    "Maria", "James", "Aiko", "Oluwaseun", "Priya", "Lukas", "Sofia", "Daniel", "Mei", "Omar",
    "Hannah", "Rafael", "Ingrid", "Kwame", "Elena", "Tomás", "Grace", "Viktor", "Leila", "Samuel",
    "Noor", "Patrick", "Yuki", "Beatriz", "Arjun", "Claire", "Mateo", "Fatima", "Henrik", "Zoe",
)
LAST_NAMES = (
    "Okafor", "Lindqvist", "Tanaka", "Adeyemi", "Raman", "Becker", "Rossi", "Cohen", "Chen",
    "Haddad", "Murphy", "Alvarez", "Johansson", "Mensah", "Petrova", "García", "Walsh", "Novak",
    "Karimi", "Osei", "Brennan", "Sato", "Costa", "Iyer", "Dubois", "Herrera", "Nakamura",
    "Fischer", "Abbott", "Kowalski",
)
COMPANIES = (
    "halvorsen-bio", "northgate-labs", "cedarline-dental", "brightwater-studio", "kestrel-legal",
    "orbitfield", "maple-row-clinic", "quillon-press", "redfern-analytics", "sablecrest",
    "tidewell-research", "larchmont-school", "fernhollow-vet", "ironbark-eng", "silverpine-cpa",
    "bluecairn-pharma", "westbrook-gallery", "harborlight-ngo", "moss-and-reed", "granite-peak",
)
REGIONS = ("US-East", "US-Central", "US-West", "Canada", "EU")

# sku, name, unit price in cents, max quantity per order line
PRODUCTS: tuple[tuple[str, str, int, int], ...] = (
    ("LAB-GLV-100", "Nitrile gloves (box of 100)", 1450, 20),
    ("OFF-PAP-A4", "Copy paper A4 (case of 10 reams)", 5400, 8),
    ("FUR-CHR-ERG", "Ergonomic office chair", 28900, 4),
    ("FUR-DSK-STD", "Standing desk frame", 44900, 3),
    ("LAB-PIP-1000", "Micropipette 100-1000 uL", 32900, 3),
    ("LAB-CEN-BT", "Benchtop centrifuge", 124000, 1),
    ("OFF-NBK-LAB", "Laboratory notebook", 1275, 12),
    ("OFF-TON-58A", "Toner cartridge 58A", 9640, 6),
    ("LAB-GOG-SAF", "Safety goggles", 980, 15),
    ("LAB-TIP-96", "Pipette tips (rack of 96)", 890, 30),
    ("LAB-BKR-SET", "Glass beaker set (5 pieces)", 4200, 6),
    ("OFF-LBL-PRN", "Label printer", 15900, 2),
    ("OFF-WBD-46", "Whiteboard 4x6 ft", 18900, 2),
    ("OFF-SHR-XC", "Cross-cut shredder", 21900, 2),
    ("FUR-MON-ARM", "Monitor arm", 12900, 4),
    ("LAB-SCL-001", "Digital precision scale 0.01 g", 24500, 2),
    ("LAB-FRZ-BOX", "Freezer boxes (pack of 10)", 3650, 10),
    ("OFF-PEN-50", "Ballpoint pens (box of 50)", 1120, 10),
    ("OFF-STK-24", "Sticky notes (24 pads)", 1860, 10),
    ("LAB-ETH-4L", "Ethanol 70% (4 L)", 3890, 6),
    ("LAB-COAT-M", "Lab coat", 3200, 10),
    ("LAB-PHM-01", "pH meter", 38900, 2),
    ("LAB-STR-MAG", "Magnetic stirrer", 27500, 2),
    ("OFF-LMP-LED", "LED desk lamp", 6400, 6),
    ("FUR-CAB-3D", "Filing cabinet, 3 drawers", 31900, 2),
    ("OFF-HDS-USB", "USB headset", 7900, 8),
    ("OFF-KBD-WL", "Wireless keyboard", 4900, 8),
    ("OFF-COF-100", "Coffee pods (box of 100)", 4250, 6),
    ("SAF-AID-KIT", "First aid kit", 5800, 4),
    ("OFF-CBL-KIT", "Cable organizer kit", 2400, 6),
)
SHIPPING_SKU = "SHIP-STD"
SHIPPING_CENTS = 1250  # standard shipping (POL-SHP-001): free from 150 USD or for gold tier
FREE_SHIPPING_FROM_CENTS = 15000

SERVICES = (
    ("Annual equipment calibration service", 38000, 96000),
    ("Lab safety training session", 45000, 90000),
    ("Office furniture installation", 25000, 70000),
    ("Managed supplies subscription (quarterly)", 60000, 150000),
)

TRAVEL_MEMOS = (
    "Flight to supplier audit", "Hotel, trade show", "Train tickets, customer visit",
    "Rental car, regional sales trip", "Hotel, customer onsite training", "Flight, lab expo",
)
MEAL_MEMOS = (
    "Team lunch", "Client dinner", "Meal during customer visit", "Working lunch, quarter close",
    "Breakfast meeting with supplier",
)
OFFICE_MEMOS = (
    "Cleaning service", "Printer maintenance", "Break room supplies", "Office repairs",
    "Postage and courier", "Internet service",
)
SOFTWARE_VENDORS = (("Accounting suite", 8900), ("Helpdesk seats", 12600),
                    ("Inventory system", 15800))
MARKETING_MEMOS = (
    "Trade show booth", "Catalog printing", "Search ads", "Newsletter platform",
    "Sponsored webinar",
)
SUPPLIERS = ("Aster Lab Goods", "Pinecone Paper Mills", "Corvid Furniture", "Helix Scientific")
