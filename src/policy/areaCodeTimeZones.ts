/**
 * Where a phone number rings, as IANA time zones: the data behind the TCPA quiet hours
 * (no calls or texts before 08:00 or after 21:00 at the called party's location).
 *
 * - NANP (+1) numbers: by area code (NPA). US area codes are mapped at state level; an area code
 *   whose territory straddles a zone line (e.g. 850 Florida panhandle, 208 Idaho, 605 South Dakota)
 *   lists every zone it covers, and the caller must respect all of them (strictest reading).
 *   Canada and the US territories are included. Area codes not listed here (toll-free 8XX,
 *   non-geographic 5XX/600/700/900, codes opened after this table was written) fall back to every
 *   zone of the country libphonenumber assigns to the number.
 * - Other numbers: by country, from the IANA `zone.tab` (one zone per distinct offset history;
 *   zones whose offsets are identical in 2026–2027 were merged, so e.g. the 29 US entries became 8).
 *
 * Pure data and lookups; no I/O. Update the area-code table when NANPA opens a new code (an
 * unlisted code is not an error: it just gets the strict country-wide treatment).
 */

import { parsePhoneNumberFromString } from "libphonenumber-js"

// ── NANP zones ──────────────────────────────────────────────────────────────────────────────
const ET = "America/New_York"
const CT = "America/Chicago"
const MT = "America/Denver"
const AZ = "America/Phoenix" // MST all year (Arizona except the Navajo Nation)
const PT = "America/Los_Angeles"
const AK = "America/Anchorage"
const ALEUT = "America/Adak"
const HI = "Pacific/Honolulu"
const NL = "America/St_Johns"
const AT = "America/Halifax"
const LAB = "America/Goose_Bay"
const AST = "America/Blanc-Sablon" // AST all year (Quebec's Lower North Shore)
const EST = "America/Atikokan" // EST all year (north-western Ontario pockets)
const TOR = "America/Toronto"
const WPG = "America/Winnipeg"
const REG = "America/Regina" // CST all year
const EDM = "America/Edmonton"
const MST = "America/Dawson_Creek" // MST all year (north-east and south-east BC)
const VAN = "America/Vancouver"
const YT = "America/Whitehorse" // MST all year since 2020

type Group = readonly [country: string, zones: ReadonlyArray<string>, areaCodes: string]

/** [country, zones, area codes] — one line per state or province (and per straddling code). */
const groups: ReadonlyArray<Group> = [
  // ── United States ──
  ["US", [CT], "205 251 256 483 659 938"], // Alabama
  ["US", [CT, ET], "334"], // Alabama: Phenix City area keeps Eastern time
  ["US", [AK, ALEUT], "907"], // Alaska (the western Aleutians are on Hawaii–Aleutian time)
  ["US", [AZ], "480 520 602 623"], // Arizona
  ["US", [AZ, MT], "928"], // Arizona: the Navajo Nation observes DST
  ["US", [CT], "327 479 501 870"], // Arkansas
  ["US", [PT], "209 213 279 310 323 341 350 357 369 408 415 424 442 510 530 559 562 619 626 628 650 657 661 669"], // California
  ["US", [PT], "707 714 738 747 760 805 818 820 831 837 840 858 909 916 925 949 951"], // California
  ["US", [MT], "303 719 720 970 983"], // Colorado
  ["US", [ET], "203 475 860 959"], // Connecticut
  ["US", [ET], "302"], // Delaware
  ["US", [ET], "202 771"], // District of Columbia
  ["US", [ET], "239 305 321 324 352 386 407 561 645 656 689 727 728 754 772 786 813 863 904 941 954"], // Florida
  ["US", [ET, CT], "448 850"], // Florida panhandle: west of the Apalachicola is Central
  ["US", [ET], "229 404 470 478 678 706 762 770 912 943"], // Georgia
  ["US", [HI], "808"], // Hawaii
  ["US", [MT, PT], "208 986"], // Idaho: the panhandle is Pacific
  ["US", [CT], "217 224 309 312 331 447 464 618 630 708 730 773 779 815 847 861 872"], // Illinois
  ["US", [ET], "260 317 463 765"], // Indiana (Eastern part)
  ["US", [CT], "219"], // Indiana: the north-west corner is Central
  ["US", [ET, CT], "574 812 930"], // Indiana: Starke and the south-west corner are Central
  ["US", [CT], "319 515 563 641 712"], // Iowa
  ["US", [CT], "316 913"], // Kansas
  ["US", [CT, MT], "620 785"], // Kansas: four western counties are Mountain
  ["US", [ET], "502 859"], // Kentucky
  ["US", [ET, CT], "270 364 606"], // Kentucky: the west (and a few south-central counties) are Central
  ["US", [CT], "225 318 337 457 504 985"], // Louisiana
  ["US", [ET], "207"], // Maine
  ["US", [ET], "227 240 301 410 443 667"], // Maryland
  ["US", [ET], "339 351 413 508 617 774 781 857 978"], // Massachusetts
  ["US", [ET], "231 248 269 313 517 586 616 679 734 810 947 989"], // Michigan
  ["US", [ET, CT], "906"], // Michigan: the Upper Peninsula's Wisconsin border counties are Central
  ["US", [CT], "218 320 507 612 651 763 924 952"], // Minnesota
  ["US", [CT], "228 601 662 769"], // Mississippi
  ["US", [CT], "235 314 417 557 573 636 660 816 975"], // Missouri
  ["US", [MT], "406"], // Montana
  ["US", [CT], "402 531"], // Nebraska
  ["US", [CT, MT], "308"], // Nebraska: the west is Mountain
  ["US", [PT], "702 725"], // Nevada
  ["US", [PT, MT], "775"], // Nevada: West Wendover keeps Mountain time
  ["US", [ET], "603"], // New Hampshire
  ["US", [ET], "201 551 609 640 732 848 856 862 908 973"], // New Jersey
  ["US", [MT], "505 575"], // New Mexico
  ["US", [ET], "212 315 329 332 347 363 516 518 585 607 624 631 646 680 716 718 838 845 914 917 929 934"], // New York
  ["US", [ET], "252 336 472 704 743 828 910 919 980 984"], // North Carolina
  ["US", [CT, MT], "701"], // North Dakota: the south-west is Mountain
  ["US", [ET], "216 220 234 283 326 330 380 419 436 440 513 567 614 740 937"], // Ohio
  ["US", [CT], "405 539 572 918"], // Oklahoma
  ["US", [CT, MT], "580"], // Oklahoma: Kenton keeps Mountain time
  ["US", [PT], "503 971"], // Oregon
  ["US", [PT, MT], "458 541"], // Oregon: Malheur County is Mountain
  ["US", [ET], "215 223 267 272 412 445 484 570 582 610 717 724 814 835 878"], // Pennsylvania
  ["US", [ET], "401"], // Rhode Island
  ["US", [ET], "803 839 843 854 864"], // South Carolina
  ["US", [CT, MT], "605"], // South Dakota: the west is Mountain
  ["US", [CT], "615 629 731 901"], // Tennessee (Middle and West)
  ["US", [ET], "865"], // Tennessee (Knoxville)
  ["US", [ET, CT], "423 931"], // Tennessee: these straddle the Eastern/Central line
  ["US", [CT], "210 214 254 281 325 346 361 409 430 469 512 682 713 726 737 806 817 830 832 903 936 940 945 956"], // Texas
  ["US", [CT], "972 979"], // Texas
  ["US", [CT, MT], "432"], // Texas: Culberson and Hudspeth neighbours keep Mountain time
  ["US", [MT], "915"], // Texas: El Paso
  ["US", [MT], "385 435 801"], // Utah
  ["US", [ET], "802"], // Vermont
  ["US", [ET], "276 434 540 571 686 703 757 804 826 948"], // Virginia
  ["US", [PT], "206 253 360 425 509 564"], // Washington
  ["US", [ET], "304 681"], // West Virginia
  ["US", [CT], "262 274 353 414 534 608 715 920"], // Wisconsin
  ["US", [MT], "307"], // Wyoming
  // ── US territories (libphonenumber gives them their own region codes) ──
  ["PR", ["America/Puerto_Rico"], "787 939"],
  ["VI", ["America/St_Thomas"], "340"],
  ["GU", ["Pacific/Guam"], "671"],
  ["MP", ["Pacific/Saipan"], "670"],
  ["AS", ["Pacific/Pago_Pago"], "684"],
  // ── Canada ──
  ["CA", [VAN], "604"], // British Columbia: Lower Mainland
  ["CA", [VAN, EDM, MST], "236 250 257 672 778"], // British Columbia: the rest (Kootenays Mountain, north-east MST)
  ["CA", [EDM], "368 403 587 780 825"], // Alberta
  ["CA", [REG, EDM], "306 474 639"], // Saskatchewan (Lloydminster follows Alberta)
  ["CA", [WPG], "204 431 584"], // Manitoba
  ["CA", [TOR], "226 249 289 343 365 382 387 416 437 519 548 613 647 683 705 742 753 905"], // Ontario
  ["CA", [TOR, WPG, EST], "807"], // Ontario: the north-west is Central, Atikokan EST
  ["CA", [TOR], "263 354 438 450 468 514 579 819 873"], // Quebec
  ["CA", [TOR, AT, AST], "367 418 581"], // Quebec: Magdalen Islands Atlantic, Lower North Shore AST
  ["CA", [AT], "428 506"], // New Brunswick
  ["CA", [AT], "782 902"], // Nova Scotia, Prince Edward Island
  ["CA", [NL, LAB], "709 879"], // Newfoundland and Labrador
  ["CA", [YT, EDM, WPG, TOR], "867"] // Yukon, Northwest Territories, Nunavut
]

export interface NanpAreaCode {
  readonly country: string
  readonly zones: ReadonlyArray<string>
}

/** Area code (3 digits) → country and zones. Built once from `groups`. */
export const nanpAreaCodes: ReadonlyMap<string, NanpAreaCode> = (() => {
  const map = new Map<string, NanpAreaCode>()
  for (const [country, zones, codes] of groups) {
    const entry: NanpAreaCode = { country, zones }
    for (const code of codes.split(" ")) {
      if (map.has(code)) throw new Error(`areaCodeTimeZones: area code ${code} is listed twice`)
      map.set(code, entry)
    }
  }
  return map
})()

/**
 * Every IANA zone a country spans (ISO 3166-1 alpha-2, plus libphonenumber's XK, AC, TA), generated
 * from `/usr/share/zoneinfo/zone.tab`, deduplicated by offset history. Antarctica omitted.
 */
export const countryTimeZones: Readonly<Record<string, ReadonlyArray<string>>> = {
  AC: ["Atlantic/St_Helena"], AD: ["Europe/Andorra"], AE: ["Asia/Dubai"], AF: ["Asia/Kabul"], AG: ["America/Antigua"],
  AI: ["America/Anguilla"], AL: ["Europe/Tirane"], AM: ["Asia/Yerevan"], AO: ["Africa/Luanda"],
  AR: ["America/Argentina/Buenos_Aires"], AS: ["Pacific/Pago_Pago"], AT: ["Europe/Vienna"],
  AU: ["Australia/Lord_Howe", "Antarctica/Macquarie", "Australia/Broken_Hill", "Australia/Brisbane", "Australia/Darwin", "Australia/Perth", "Australia/Eucla"],
  AW: ["America/Aruba"], AX: ["Europe/Mariehamn"], AZ: ["Asia/Baku"], BA: ["Europe/Sarajevo"],
  BB: ["America/Barbados"], BD: ["Asia/Dhaka"], BE: ["Europe/Brussels"], BF: ["Africa/Ouagadougou"],
  BG: ["Europe/Sofia"], BH: ["Asia/Bahrain"], BI: ["Africa/Bujumbura"], BJ: ["Africa/Porto-Novo"],
  BL: ["America/St_Barthelemy"], BM: ["Atlantic/Bermuda"], BN: ["Asia/Brunei"], BO: ["America/La_Paz"],
  BQ: ["America/Kralendijk"], BR: ["America/Noronha", "America/Belem", "America/Campo_Grande", "America/Eirunepe"],
  BS: ["America/Nassau"], BT: ["Asia/Thimphu"], BW: ["Africa/Gaborone"], BY: ["Europe/Minsk"], BZ: ["America/Belize"],
  CA: ["America/St_Johns", "America/Halifax", "America/Blanc-Sablon", "America/Toronto", "America/Atikokan", "America/Winnipeg", "America/Regina", "America/Edmonton", "America/Creston", "America/Vancouver"],
  CC: ["Indian/Cocos"], CD: ["Africa/Kinshasa", "Africa/Lubumbashi"], CF: ["Africa/Bangui"],
  CG: ["Africa/Brazzaville"], CH: ["Europe/Zurich"], CI: ["Africa/Abidjan"], CK: ["Pacific/Rarotonga"],
  CL: ["America/Santiago", "America/Coyhaique", "Pacific/Easter"], CM: ["Africa/Douala"],
  CN: ["Asia/Shanghai", "Asia/Urumqi"], CO: ["America/Bogota"], CR: ["America/Costa_Rica"], CU: ["America/Havana"],
  CV: ["Atlantic/Cape_Verde"], CW: ["America/Curacao"], CX: ["Indian/Christmas"], CY: ["Asia/Nicosia"],
  CZ: ["Europe/Prague"], DE: ["Europe/Berlin"], DJ: ["Africa/Djibouti"], DK: ["Europe/Copenhagen"],
  DM: ["America/Dominica"], DO: ["America/Santo_Domingo"], DZ: ["Africa/Algiers"],
  EC: ["America/Guayaquil", "Pacific/Galapagos"], EE: ["Europe/Tallinn"], EG: ["Africa/Cairo"],
  EH: ["Africa/El_Aaiun"], ER: ["Africa/Asmara"], ES: ["Europe/Madrid", "Atlantic/Canary"],
  ET: ["Africa/Addis_Ababa"], FI: ["Europe/Helsinki"], FJ: ["Pacific/Fiji"], FK: ["Atlantic/Stanley"],
  FM: ["Pacific/Chuuk", "Pacific/Pohnpei"], FO: ["Atlantic/Faroe"], FR: ["Europe/Paris"], GA: ["Africa/Libreville"],
  GB: ["Europe/London"], GD: ["America/Grenada"], GE: ["Asia/Tbilisi"], GF: ["America/Cayenne"],
  GG: ["Europe/Guernsey"], GH: ["Africa/Accra"], GI: ["Europe/Gibraltar"],
  GL: ["America/Nuuk", "America/Danmarkshavn", "America/Thule"], GM: ["Africa/Banjul"], GN: ["Africa/Conakry"],
  GP: ["America/Guadeloupe"], GQ: ["Africa/Malabo"], GR: ["Europe/Athens"], GS: ["Atlantic/South_Georgia"],
  GT: ["America/Guatemala"], GU: ["Pacific/Guam"], GW: ["Africa/Bissau"], GY: ["America/Guyana"],
  HK: ["Asia/Hong_Kong"], HN: ["America/Tegucigalpa"], HR: ["Europe/Zagreb"], HT: ["America/Port-au-Prince"],
  HU: ["Europe/Budapest"], ID: ["Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura"], IE: ["Europe/Dublin"],
  IL: ["Asia/Jerusalem"], IM: ["Europe/Isle_of_Man"], IN: ["Asia/Kolkata"], IO: ["Indian/Chagos"],
  IQ: ["Asia/Baghdad"], IR: ["Asia/Tehran"], IS: ["Atlantic/Reykjavik"], IT: ["Europe/Rome"], JE: ["Europe/Jersey"],
  JM: ["America/Jamaica"], JO: ["Asia/Amman"], JP: ["Asia/Tokyo"], KE: ["Africa/Nairobi"], KG: ["Asia/Bishkek"],
  KH: ["Asia/Phnom_Penh"], KI: ["Pacific/Tarawa", "Pacific/Kanton", "Pacific/Kiritimati"], KM: ["Indian/Comoro"],
  KN: ["America/St_Kitts"], KP: ["Asia/Pyongyang"], KR: ["Asia/Seoul"], KW: ["Asia/Kuwait"], KY: ["America/Cayman"],
  KZ: ["Asia/Almaty"], LA: ["Asia/Vientiane"], LB: ["Asia/Beirut"], LC: ["America/St_Lucia"], LI: ["Europe/Vaduz"],
  LK: ["Asia/Colombo"], LR: ["Africa/Monrovia"], LS: ["Africa/Maseru"], LT: ["Europe/Vilnius"],
  LU: ["Europe/Luxembourg"], LV: ["Europe/Riga"], LY: ["Africa/Tripoli"], MA: ["Africa/Casablanca"],
  MC: ["Europe/Monaco"], MD: ["Europe/Chisinau"], ME: ["Europe/Podgorica"], MF: ["America/Marigot"],
  MG: ["Indian/Antananarivo"], MH: ["Pacific/Majuro"], MK: ["Europe/Skopje"], ML: ["Africa/Bamako"],
  MM: ["Asia/Yangon"], MN: ["Asia/Ulaanbaatar", "Asia/Hovd"], MO: ["Asia/Macau"], MP: ["Pacific/Saipan"],
  MQ: ["America/Martinique"], MR: ["Africa/Nouakchott"], MS: ["America/Montserrat"], MT: ["Europe/Malta"],
  MU: ["Indian/Mauritius"], MV: ["Indian/Maldives"], MW: ["Africa/Blantyre"],
  MX: ["America/Mexico_City", "America/Cancun", "America/Matamoros", "America/Ciudad_Juarez", "America/Mazatlan", "America/Tijuana"],
  MY: ["Asia/Kuala_Lumpur"], MZ: ["Africa/Maputo"], NA: ["Africa/Windhoek"], NC: ["Pacific/Noumea"],
  NE: ["Africa/Niamey"], NF: ["Pacific/Norfolk"], NG: ["Africa/Lagos"], NI: ["America/Managua"],
  NL: ["Europe/Amsterdam"], NO: ["Europe/Oslo"], NP: ["Asia/Kathmandu"], NR: ["Pacific/Nauru"], NU: ["Pacific/Niue"],
  NZ: ["Pacific/Auckland", "Pacific/Chatham"], OM: ["Asia/Muscat"], PA: ["America/Panama"], PE: ["America/Lima"],
  PF: ["Pacific/Tahiti", "Pacific/Marquesas", "Pacific/Gambier"],
  PG: ["Pacific/Port_Moresby", "Pacific/Bougainville"], PH: ["Asia/Manila"], PK: ["Asia/Karachi"],
  PL: ["Europe/Warsaw"], PM: ["America/Miquelon"], PN: ["Pacific/Pitcairn"], PR: ["America/Puerto_Rico"],
  PS: ["Asia/Gaza"], PT: ["Europe/Lisbon", "Atlantic/Azores"], PW: ["Pacific/Palau"], PY: ["America/Asuncion"],
  QA: ["Asia/Qatar"], RE: ["Indian/Reunion"], RO: ["Europe/Bucharest"], RS: ["Europe/Belgrade"],
  RU: ["Europe/Kaliningrad", "Europe/Moscow", "Europe/Astrakhan", "Asia/Yekaterinburg", "Asia/Omsk", "Asia/Novosibirsk", "Asia/Irkutsk", "Asia/Chita", "Asia/Vladivostok", "Asia/Magadan", "Asia/Kamchatka"],
  RW: ["Africa/Kigali"], SA: ["Asia/Riyadh"], SB: ["Pacific/Guadalcanal"], SC: ["Indian/Mahe"],
  SD: ["Africa/Khartoum"], SE: ["Europe/Stockholm"], SG: ["Asia/Singapore"], SH: ["Atlantic/St_Helena"],
  SI: ["Europe/Ljubljana"], SJ: ["Arctic/Longyearbyen"], SK: ["Europe/Bratislava"], SL: ["Africa/Freetown"],
  SM: ["Europe/San_Marino"], SN: ["Africa/Dakar"], SO: ["Africa/Mogadishu"], SR: ["America/Paramaribo"],
  SS: ["Africa/Juba"], ST: ["Africa/Sao_Tome"], SV: ["America/El_Salvador"], SX: ["America/Lower_Princes"],
  SY: ["Asia/Damascus"], SZ: ["Africa/Mbabane"], TA: ["Atlantic/St_Helena"], TC: ["America/Grand_Turk"],
  TD: ["Africa/Ndjamena"], TF: ["Indian/Kerguelen"], TG: ["Africa/Lome"], TH: ["Asia/Bangkok"], TJ: ["Asia/Dushanbe"],
  TK: ["Pacific/Fakaofo"], TL: ["Asia/Dili"], TM: ["Asia/Ashgabat"], TN: ["Africa/Tunis"], TO: ["Pacific/Tongatapu"],
  TR: ["Europe/Istanbul"], TT: ["America/Port_of_Spain"], TV: ["Pacific/Funafuti"], TW: ["Asia/Taipei"],
  TZ: ["Africa/Dar_es_Salaam"], UA: ["Europe/Simferopol", "Europe/Kyiv"], UG: ["Africa/Kampala"],
  UM: ["Pacific/Midway", "Pacific/Wake"],
  US: ["America/New_York", "America/Chicago", "America/Denver", "America/Phoenix", "America/Los_Angeles", "America/Anchorage", "America/Adak", "Pacific/Honolulu"],
  UY: ["America/Montevideo"], UZ: ["Asia/Samarkand"], VA: ["Europe/Vatican"], VC: ["America/St_Vincent"],
  VE: ["America/Caracas"], VG: ["America/Tortola"], VI: ["America/St_Thomas"], VN: ["Asia/Ho_Chi_Minh"],
  VU: ["Pacific/Efate"], WF: ["Pacific/Wallis"], WS: ["Pacific/Apia"], XK: ["Europe/Belgrade"], YE: ["Asia/Aden"],
  YT: ["Indian/Mayotte"], ZA: ["Africa/Johannesburg"], ZM: ["Africa/Lusaka"], ZW: ["Africa/Harare"]
}

export interface NumberLocation {
  /** ISO country (or libphonenumber region) of the number; undefined for non-geographic numbers. */
  readonly country: string | undefined
  /** Every zone the number may ring in; empty when unknown (non-geographic, e.g. +800). */
  readonly zones: ReadonlyArray<string>
  /** How the zones were found: by NANP area code, by country, or not at all. */
  readonly precision: "area_code" | "country" | "none"
}

const NONE: NumberLocation = { country: undefined, zones: [], precision: "none" }

/**
 * Where an E.164 number rings. NANP numbers are looked up by area code first (no parsing needed);
 * everything else goes through libphonenumber for its country.
 */
export const locateNumber = (e164: string): NumberLocation => {
  if (e164.length === 12 && e164.startsWith("+1")) {
    const nanp = nanpAreaCodes.get(e164.slice(2, 5))
    if (nanp !== undefined) return { country: nanp.country, zones: nanp.zones, precision: "area_code" }
  }
  const country = parsePhoneNumberFromString(e164)?.country
  if (country === undefined) return NONE
  const zones = countryTimeZones[country]
  return zones === undefined ? { country, zones: [], precision: "none" } : { country, zones, precision: "country" }
}
