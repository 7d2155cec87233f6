"""The characteristics catalog (GET /characteristics) with each choice's share of the panel.

Weights are relative shares within the population a characteristic applies to; the panel
module turns them into probabilities. A characteristic with `parent` has weights that
depend on the member's value of the parent (seniority follows company size, income follows
age), which is how the synthetic panel carries some correlation.
"""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Choice:
    id: str
    label: str
    weight: float


@dataclass(frozen=True)
class Characteristic:
    slug: str
    name: str
    category: str  # professional | accessibility | demographic | technology
    type: str  # single_select | multi_select | range
    audience_types: tuple[str, ...]
    choices: tuple[Choice, ...] = ()
    # range: (low, high, weight) buckets covering [min, max]
    buckets: tuple[tuple[int, int, float], ...] = ()
    parent: str | None = None
    # parent choice id -> weights in the order of `choices`
    conditional: dict[str, tuple[float, ...]] = field(default_factory=dict)

    @property
    def range(self):
        if not self.buckets:
            return None
        return {"min": self.buckets[0][0], "max": self.buckets[-1][1]}

    def choice_ids(self):
        return {choice.id for choice in self.choices}


def _choices(*items):
    """`("id", "Label", weight)` tuples → Choice objects."""
    return tuple(Choice(id=i, label=label, weight=w) for i, label, w in items)


BOTH = ("b2c", "b2b")
B2B = ("b2b",)

COMPANY_SIZES = _choices(
    ("1", "Self-employed (1)", 9),
    ("2-10", "2-10 employees", 14),
    ("11-50", "11-50 employees", 15),
    ("51-200", "51-200 employees", 15),
    ("201-1000", "201-1,000 employees", 16),
    ("1001-5000", "1,001-5,000 employees", 12),
    ("5001-10000", "5,001-10,000 employees", 7),
    ("10001+", "10,001+ employees", 12),
)
SENIORITY = _choices(
    ("entry", "Entry level", 18),
    ("individual", "Individual contributor", 34),
    ("manager", "Manager", 20),
    ("director", "Director", 10),
    ("vp", "Vice president", 5),
    ("c_level", "C-level executive", 5),
    ("owner", "Owner / founder", 8),
)
# Small companies have many owners and few VPs; large ones the reverse.
_SENIORITY_BY_SIZE = {
    "1": (2, 10, 2, 1, 0.2, 5, 80),
    "2-10": (10, 30, 14, 6, 2, 12, 26),
    "11-50": (16, 36, 20, 10, 4, 7, 7),
    "51-200": (18, 38, 22, 11, 5, 4, 2),
    "201-1000": (20, 38, 23, 11, 5, 2, 1),
    "1001-5000": (21, 38, 23, 11, 5, 1.5, 0.5),
    "5001-10000": (21, 38, 23, 11, 5, 1.5, 0.5),
    "10001+": (22, 38, 23, 11, 5, 1, 0.2),
}
AGE_RANGES = _choices(
    ("18-24", "18-24", 12),
    ("25-34", "25-34", 18),
    ("35-44", "35-44", 17),
    ("45-54", "45-54", 16),
    ("55-64", "55-64", 16),
    ("65+", "65 and over", 21),
)
INCOMES = _choices(
    ("lt25k", "Under $25,000", 17),
    ("25-50k", "$25,000-$49,999", 19),
    ("50-75k", "$50,000-$74,999", 17),
    ("75-100k", "$75,000-$99,999", 13),
    ("100-150k", "$100,000-$149,999", 16),
    ("150-200k", "$150,000-$199,999", 8),
    ("200k+", "$200,000 or more", 10),
)
_INCOME_BY_AGE = {
    "18-24": (38, 27, 15, 8, 7, 3, 2),
    "25-34": (14, 20, 19, 15, 17, 8, 7),
    "35-44": (11, 15, 16, 14, 19, 11, 14),
    "45-54": (11, 14, 15, 13, 19, 12, 16),
    "55-64": (15, 17, 16, 13, 17, 9, 13),
    "65+": (27, 24, 17, 11, 11, 5, 5),
}

CHARACTERISTICS = (
    # Professional
    Characteristic(
        "company_size", "Company size", "professional", "single_select", B2B, COMPANY_SIZES
    ),
    Characteristic(
        "seniority",
        "Seniority",
        "professional",
        "single_select",
        B2B,
        SENIORITY,
        parent="company_size",
        conditional=_SENIORITY_BY_SIZE,
    ),
    Characteristic(
        "industry",
        "Industry",
        "professional",
        "single_select",
        B2B,
        _choices(
            ("software", "Software & internet", 10),
            ("finance", "Financial services", 8),
            ("healthcare", "Healthcare", 13),
            ("education", "Education", 9),
            ("retail", "Retail & e-commerce", 10),
            ("manufacturing", "Manufacturing", 9),
            ("government", "Government & public sector", 7),
            ("media", "Media & entertainment", 4),
            ("consulting", "Consulting & professional services", 7),
            ("hospitality", "Hospitality & food service", 7),
            ("construction", "Construction", 5),
            ("transportation", "Transportation & logistics", 5),
            ("energy", "Energy & utilities", 2),
            ("nonprofit", "Nonprofit", 4),
        ),
    ),
    Characteristic(
        "job_function",
        "Job function",
        "professional",
        "single_select",
        B2B,
        _choices(
            ("engineering", "Engineering", 11),
            ("product", "Product management", 3),
            ("design", "Design", 3),
            ("marketing", "Marketing", 7),
            ("sales", "Sales", 10),
            ("operations", "Operations", 11),
            ("finance", "Finance & accounting", 8),
            ("hr", "Human resources", 5),
            ("it", "IT & security", 6),
            ("customer_support", "Customer support", 7),
            ("legal", "Legal", 2),
            ("research", "Research & data", 4),
            ("clinical", "Clinical care", 8),
            ("teaching", "Teaching", 7),
            ("administration", "Administration", 8),
        ),
    ),
    Characteristic(
        "occupation",
        "Occupation",
        "professional",
        "single_select",
        B2B,
        _choices(
            ("software_developer", "Software developer", 6),
            ("data_scientist", "Data scientist", 1.5),
            ("product_manager", "Product manager", 2),
            ("ux_designer", "UX designer", 1.5),
            ("nurse", "Nurse", 6),
            ("physician", "Physician", 2),
            ("teacher", "Teacher", 7),
            ("accountant", "Accountant", 4),
            ("sales_rep", "Sales representative", 8),
            ("marketer", "Marketing specialist", 4),
            ("hr_specialist", "HR specialist", 3),
            ("lawyer", "Lawyer", 1.5),
            ("small_business_owner", "Small business owner", 7),
            ("it_admin", "IT administrator", 3),
            ("project_manager", "Project manager", 4),
            ("customer_service", "Customer service representative", 8),
            ("financial_advisor", "Financial advisor", 1.5),
            ("pharmacist", "Pharmacist", 1),
            ("electrician", "Electrician", 2),
            ("other", "Other", 27),
        ),
    ),
    Characteristic(
        "employment_status",
        "Employment status",
        "professional",
        "single_select",
        BOTH,
        _choices(
            ("full_time", "Employed full-time", 52),
            ("part_time", "Employed part-time", 12),
            ("self_employed", "Self-employed", 9),
            ("student", "Student", 7),
            ("retired", "Retired", 13),
            ("unemployed", "Not employed", 7),
        ),
    ),
    Characteristic(
        "years_experience",
        "Years of work experience",
        "professional",
        "range",
        B2B,
        buckets=((0, 2, 12), (3, 5, 15), (6, 10, 20), (11, 20, 28), (21, 30, 16), (31, 45, 9)),
    ),
    Characteristic(
        "team_size",
        "People managed",
        "professional",
        "range",
        B2B,
        buckets=((0, 0, 62), (1, 5, 20), (6, 20, 12), (21, 100, 5), (101, 1000, 1)),
    ),
    Characteristic(
        "work_arrangement",
        "Work arrangement",
        "professional",
        "single_select",
        B2B,
        _choices(
            ("onsite", "On-site", 52), ("hybrid", "Hybrid", 30), ("remote", "Fully remote", 18)
        ),
    ),
    Characteristic(
        "purchase_authority",
        "Purchase decision role",
        "professional",
        "single_select",
        B2B,
        _choices(
            ("decision_maker", "Final decision maker", 14),
            ("influencer", "Influences decisions", 31),
            ("user", "Uses products, no say", 55),
        ),
    ),
    Characteristic(
        "software_used_at_work",
        "Software used at work",
        "professional",
        "multi_select",
        B2B,
        _choices(
            ("slack", "Slack", 32),
            ("teams", "Microsoft Teams", 48),
            ("salesforce", "Salesforce", 14),
            ("jira", "Jira", 15),
            ("figma", "Figma", 5),
            ("excel", "Microsoft Excel", 70),
            ("google_workspace", "Google Workspace", 45),
            ("sap", "SAP", 7),
            ("hubspot", "HubSpot", 6),
            ("quickbooks", "QuickBooks", 9),
        ),
    ),
    # Accessibility
    Characteristic(
        "disability",
        "Disability",
        "accessibility",
        "multi_select",
        BOTH,
        _choices(
            ("blind", "Blind", 0.6),
            ("low_vision", "Low vision", 3),
            ("deaf", "Deaf", 0.4),
            ("hard_of_hearing", "Hard of hearing", 4),
            ("motor", "Motor or mobility", 6),
            ("cognitive", "Cognitive or learning", 5),
            ("speech", "Speech", 0.8),
        ),
    ),
    Characteristic(
        "assistive_technology",
        "Assistive technology used",
        "accessibility",
        "multi_select",
        BOTH,
        _choices(
            ("screen_reader", "Screen reader", 1.2),
            ("magnifier", "Screen magnifier", 2),
            ("voice_control", "Voice control", 3),
            ("switch", "Switch access", 0.3),
            ("captions", "Captions", 8),
            ("braille", "Refreshable braille display", 0.2),
        ),
    ),
    Characteristic(
        "screen_reader",
        "Screen reader",
        "accessibility",
        "single_select",
        BOTH,
        _choices(
            ("none", "None", 98.8),
            ("jaws", "JAWS", 0.4),
            ("nvda", "NVDA", 0.4),
            ("voiceover", "VoiceOver", 0.3),
            ("talkback", "TalkBack", 0.1),
        ),
    ),
    # Demographic
    Characteristic("age_range", "Age range", "demographic", "single_select", BOTH, AGE_RANGES),
    Characteristic(
        "household_income",
        "Household income",
        "demographic",
        "single_select",
        BOTH,
        INCOMES,
        parent="age_range",
        conditional=_INCOME_BY_AGE,
    ),
    Characteristic(
        "gender",
        "Gender",
        "demographic",
        "single_select",
        BOTH,
        _choices(
            ("woman", "Woman", 50),
            ("man", "Man", 48),
            ("non_binary", "Non-binary", 1.5),
            ("self_describe", "Prefer to self-describe", 0.5),
        ),
    ),
    Characteristic(
        "education",
        "Education",
        "demographic",
        "single_select",
        BOTH,
        _choices(
            ("high_school", "High school or less", 36),
            ("some_college", "Some college", 18),
            ("associate", "Associate degree", 10),
            ("bachelor", "Bachelor's degree", 23),
            ("master", "Master's degree", 10),
            ("doctorate", "Doctorate or professional", 3),
        ),
    ),
    Characteristic(
        "languages_spoken",
        "Languages spoken",
        "demographic",
        "multi_select",
        BOTH,
        _choices(
            ("en", "English", 92),
            ("es", "Spanish", 16),
            ("fr", "French", 5),
            ("de", "German", 4),
            ("zh", "Chinese", 3),
            ("hi", "Hindi", 3),
            ("pt", "Portuguese", 3),
            ("ar", "Arabic", 1.5),
            ("ja", "Japanese", 1.2),
            ("ko", "Korean", 1),
        ),
    ),
    Characteristic(
        "ethnicity",
        "Race / ethnicity",
        "demographic",
        "multi_select",
        BOTH,
        _choices(
            ("white", "White", 60),
            ("hispanic", "Hispanic or Latino", 19),
            ("black", "Black or African American", 13),
            ("asian", "Asian", 6.5),
            ("native", "American Indian or Alaska Native", 1.3),
            ("pacific", "Native Hawaiian or Pacific Islander", 0.3),
            ("other", "Other", 3),
        ),
    ),
    Characteristic(
        "marital_status",
        "Marital status",
        "demographic",
        "single_select",
        BOTH,
        _choices(
            ("single", "Single", 34),
            ("partnered", "In a relationship", 9),
            ("married", "Married", 47),
            ("divorced", "Divorced or separated", 10),
        ),
    ),
    Characteristic(
        "children_in_household",
        "Children in household",
        "demographic",
        "single_select",
        BOTH,
        _choices(
            ("none", "None", 60),
            ("one", "One", 17),
            ("two", "Two", 15),
            ("three_plus", "Three or more", 8),
        ),
    ),
    Characteristic(
        "household_size",
        "Household size",
        "demographic",
        "range",
        BOTH,
        buckets=((1, 1, 28), (2, 2, 35), (3, 4, 28), (5, 8, 9)),
    ),
    Characteristic(
        "home_ownership",
        "Home ownership",
        "demographic",
        "single_select",
        BOTH,
        _choices(("own", "Own", 65), ("rent", "Rent", 33), ("other", "Other", 2)),
    ),
    Characteristic(
        "urbanicity",
        "Urban or rural",
        "demographic",
        "single_select",
        BOTH,
        _choices(("urban", "Urban", 31), ("suburban", "Suburban", 52), ("rural", "Rural", 17)),
    ),
    Characteristic(
        "veteran_status",
        "Veteran status",
        "demographic",
        "single_select",
        BOTH,
        _choices(("veteran", "Veteran", 6), ("not_veteran", "Not a veteran", 94)),
    ),
    Characteristic(
        "pet_ownership",
        "Pets",
        "demographic",
        "multi_select",
        BOTH,
        _choices(
            ("dog", "Dog", 38),
            ("cat", "Cat", 25),
            ("fish", "Fish", 4),
            ("bird", "Bird", 3),
            ("none", "No pets", 45),
        ),
    ),
    Characteristic(
        "shopping_frequency_online",
        "Online shopping frequency",
        "demographic",
        "single_select",
        BOTH,
        _choices(
            ("daily", "Daily", 6),
            ("weekly", "Weekly", 33),
            ("monthly", "Monthly", 38),
            ("rarely", "Rarely", 19),
            ("never", "Never", 4),
        ),
    ),
    Characteristic(
        "health_insurance",
        "Health insurance",
        "demographic",
        "single_select",
        BOTH,
        _choices(
            ("employer", "Through an employer", 54),
            ("marketplace", "Marketplace / individual", 10),
            ("medicare", "Medicare", 18),
            ("medicaid", "Medicaid", 10),
            ("none", "Uninsured", 8),
        ),
    ),
    Characteristic(
        "financial_products",
        "Financial products used",
        "demographic",
        "multi_select",
        BOTH,
        _choices(
            ("credit_card", "Credit card", 77),
            ("mortgage", "Mortgage", 40),
            ("brokerage", "Brokerage account", 32),
            ("crypto", "Cryptocurrency", 16),
            ("student_loan", "Student loan", 17),
            ("bnpl", "Buy now, pay later", 21),
        ),
    ),
    Characteristic(
        "age",
        "Age",
        "demographic",
        "range",
        BOTH,
        buckets=(
            (18, 24, 12),
            (25, 34, 18),
            (35, 44, 17),
            (45, 54, 16),
            (55, 64, 16),
            (65, 90, 21),
        ),
    ),
    # Technology
    Characteristic(
        "browsers",
        "Browsers",
        "technology",
        "multi_select",
        BOTH,
        _choices(
            ("chrome", "Chrome", 66),
            ("safari", "Safari", 38),
            ("edge", "Edge", 17),
            ("firefox", "Firefox", 9),
            ("samsung", "Samsung Internet", 6),
            ("opera", "Opera", 2),
            ("brave", "Brave", 2),
        ),
    ),
    Characteristic(
        "operating_systems",
        "Operating systems",
        "technology",
        "multi_select",
        BOTH,
        _choices(
            ("windows", "Windows", 63),
            ("macos", "macOS", 24),
            ("ios", "iOS", 55),
            ("android", "Android", 44),
            ("linux", "Linux", 4),
            ("chromeos", "ChromeOS", 6),
        ),
    ),
    Characteristic(
        "devices",
        "Devices owned",
        "technology",
        "multi_select",
        BOTH,
        _choices(
            ("smartphone", "Smartphone", 90),
            ("laptop", "Laptop", 74),
            ("desktop", "Desktop", 40),
            ("tablet", "Tablet", 50),
            ("smartwatch", "Smartwatch", 30),
            ("smart_speaker", "Smart speaker", 35),
            ("smart_tv", "Smart TV", 60),
            ("game_console", "Game console", 38),
            ("vr_headset", "VR headset", 6),
        ),
    ),
    Characteristic(
        "smartphone_type",
        "Primary smartphone",
        "technology",
        "single_select",
        BOTH,
        _choices(
            ("iphone", "iPhone", 55), ("android", "Android phone", 43), ("none", "No smartphone", 2)
        ),
    ),
    Characteristic(
        "tech_savviness",
        "Comfort with technology",
        "technology",
        "single_select",
        BOTH,
        _choices(
            ("novice", "Novice", 10),
            ("average", "Average", 42),
            ("advanced", "Advanced", 36),
            ("expert", "Expert", 12),
        ),
    ),
    Characteristic(
        "internet_connection",
        "Home internet",
        "technology",
        "single_select",
        BOTH,
        _choices(
            ("fiber", "Fiber", 38),
            ("cable", "Cable", 40),
            ("dsl", "DSL", 8),
            ("satellite", "Satellite", 4),
            ("mobile_only", "Mobile only", 10),
        ),
    ),
    Characteristic(
        "streaming_services",
        "Streaming services",
        "technology",
        "multi_select",
        BOTH,
        _choices(
            ("netflix", "Netflix", 65),
            ("prime_video", "Prime Video", 55),
            ("disney_plus", "Disney+", 40),
            ("hulu", "Hulu", 32),
            ("max", "Max", 28),
            ("youtube_premium", "YouTube Premium", 12),
            ("spotify", "Spotify", 45),
            ("apple_tv", "Apple TV+", 15),
        ),
    ),
    Characteristic(
        "social_media",
        "Social media used",
        "technology",
        "multi_select",
        BOTH,
        _choices(
            ("facebook", "Facebook", 68),
            ("instagram", "Instagram", 47),
            ("tiktok", "TikTok", 33),
            ("linkedin", "LinkedIn", 30),
            ("x", "X (Twitter)", 22),
            ("reddit", "Reddit", 22),
            ("pinterest", "Pinterest", 35),
            ("snapchat", "Snapchat", 27),
        ),
    ),
    Characteristic(
        "voice_assistants",
        "Voice assistants",
        "technology",
        "multi_select",
        BOTH,
        _choices(
            ("alexa", "Alexa", 30),
            ("siri", "Siri", 40),
            ("google_assistant", "Google Assistant", 30),
            ("none", "None", 30),
        ),
    ),
    Characteristic(
        "online_banking",
        "Banks online",
        "technology",
        "single_select",
        BOTH,
        _choices(
            ("app", "Mostly in an app", 58),
            ("web", "Mostly on the web", 25),
            ("branch", "Mostly in a branch", 17),
        ),
    ),
    Characteristic(
        "ai_tools",
        "AI tools used",
        "technology",
        "multi_select",
        BOTH,
        _choices(
            ("chatgpt", "ChatGPT", 35),
            ("copilot", "Microsoft Copilot", 12),
            ("gemini", "Google Gemini", 12),
            ("claude", "Claude", 5),
            ("none", "None", 50),
        ),
    ),
    Characteristic(
        "hours_online_per_day",
        "Hours online per day",
        "technology",
        "range",
        BOTH,
        buckets=((0, 1, 8), (2, 3, 25), (4, 6, 35), (7, 10, 22), (11, 16, 10)),
    ),
)

BY_SLUG = {characteristic.slug: characteristic for characteristic in CHARACTERISTICS}
