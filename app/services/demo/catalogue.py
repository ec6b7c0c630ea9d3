"""Hand-written catalogue of a coaching business: exercises, meals, habits, products, programs, badges."""

from __future__ import annotations

# name, category, difficulty, equipment
EXERCISES: tuple[tuple[str, str, str, str | None], ...] = (
    ("Goblet Squat", "Strength", "BEGINNER", "Kettlebell"),
    ("Back Squat", "Strength", "INTERMEDIATE", "Barbell, squat rack"),
    ("Front Squat", "Strength", "ADVANCED", "Barbell, squat rack"),
    ("Romanian Deadlift", "Strength", "INTERMEDIATE", "Barbell"),
    ("Conventional Deadlift", "Strength", "ADVANCED", "Barbell"),
    ("Hip Thrust", "Strength", "BEGINNER", "Barbell, bench"),
    ("Bulgarian Split Squat", "Strength", "INTERMEDIATE", "Dumbbells, bench"),
    ("Walking Lunge", "Strength", "BEGINNER", "Dumbbells"),
    ("Bench Press", "Strength", "INTERMEDIATE", "Barbell, bench"),
    ("Incline Dumbbell Press", "Strength", "INTERMEDIATE", "Dumbbells, incline bench"),
    ("Push-up", "Strength", "BEGINNER", None),
    ("Overhead Press", "Strength", "INTERMEDIATE", "Barbell"),
    ("Seated Dumbbell Shoulder Press", "Strength", "BEGINNER", "Dumbbells, bench"),
    ("Pull-up", "Strength", "ADVANCED", "Pull-up bar"),
    ("Lat Pulldown", "Strength", "BEGINNER", "Cable machine"),
    ("Bent-over Row", "Strength", "INTERMEDIATE", "Barbell"),
    ("Single-arm Dumbbell Row", "Strength", "BEGINNER", "Dumbbell, bench"),
    ("Seated Cable Row", "Strength", "BEGINNER", "Cable machine"),
    ("Face Pull", "Strength", "BEGINNER", "Cable machine, rope"),
    ("Biceps Curl", "Strength", "BEGINNER", "Dumbbells"),
    ("Triceps Rope Pushdown", "Strength", "BEGINNER", "Cable machine, rope"),
    ("Farmer's Carry", "Strength", "BEGINNER", "Dumbbells"),
    ("Kettlebell Swing", "Conditioning", "INTERMEDIATE", "Kettlebell"),
    ("Burpee", "Conditioning", "INTERMEDIATE", None),
    ("Jump Rope Intervals", "Conditioning", "BEGINNER", "Jump rope"),
    ("Rowing Machine Intervals", "Conditioning", "INTERMEDIATE", "Rowing machine"),
    ("Assault Bike Sprints", "Conditioning", "ADVANCED", "Air bike"),
    ("Box Jump", "Conditioning", "INTERMEDIATE", "Plyo box"),
    ("Mountain Climber", "Conditioning", "BEGINNER", None),
    ("Zone 2 Run", "Cardio", "BEGINNER", None),
    ("Tempo Run", "Cardio", "INTERMEDIATE", None),
    ("Hill Repeats", "Cardio", "ADVANCED", None),
    ("Brisk Walk", "Cardio", "BEGINNER", None),
    ("Stationary Bike", "Cardio", "BEGINNER", "Exercise bike"),
    ("Swim Intervals", "Cardio", "INTERMEDIATE", "Pool"),
    ("Plank", "Core", "BEGINNER", "Mat"),
    ("Side Plank", "Core", "BEGINNER", "Mat"),
    ("Dead Bug", "Core", "BEGINNER", "Mat"),
    ("Pallof Press", "Core", "INTERMEDIATE", "Cable machine"),
    ("Hanging Knee Raise", "Core", "INTERMEDIATE", "Pull-up bar"),
    ("Ab Wheel Rollout", "Core", "ADVANCED", "Ab wheel"),
    ("Bird Dog", "Core", "BEGINNER", "Mat"),
    ("Cat-Cow", "Mobility", "BEGINNER", "Mat"),
    ("World's Greatest Stretch", "Mobility", "BEGINNER", None),
    ("90/90 Hip Switch", "Mobility", "BEGINNER", "Mat"),
    ("Thoracic Spine Rotation", "Mobility", "BEGINNER", "Mat"),
    ("Couch Stretch", "Mobility", "BEGINNER", "Mat"),
    ("Ankle Mobility Drill", "Mobility", "BEGINNER", None),
    ("Sun Salutation A", "Yoga", "BEGINNER", "Mat"),
    ("Warrior II Flow", "Yoga", "BEGINNER", "Mat"),
    ("Pigeon Pose", "Yoga", "INTERMEDIATE", "Mat"),
    ("Crow Pose", "Yoga", "ADVANCED", "Mat"),
    ("Foam Rolling Routine", "Recovery", "BEGINNER", "Foam roller"),
    ("Box Breathing", "Recovery", "BEGINNER", None),
)

# name, (kcal, protein, carbs, fat, fiber), allergens, instructions
MEALS: tuple[tuple[str, tuple[int, int, int, int, int], str | None, str], ...] = (
    (
        "Overnight oats with berries",
        (420, 18, 62, 11, 9),
        "gluten, milk",
        "Soak oats in milk overnight; top with berries and seeds.",
    ),
    ("Greek yoghurt bowl", (350, 28, 35, 9, 5), "milk, nuts", "Yoghurt, walnuts, honey and sliced apple."),
    (
        "Spinach and feta omelette",
        (390, 29, 6, 27, 2),
        "egg, milk",
        "Three eggs, spinach and feta, cooked in olive oil.",
    ),
    ("Shakshuka", (410, 22, 28, 23, 7), "egg", "Eggs poached in spiced tomato and pepper sauce."),
    (
        "Wholegrain toast with avocado and egg",
        (450, 19, 38, 24, 10),
        "gluten, egg",
        "Two slices, half an avocado, one poached egg.",
    ),
    (
        "Protein pancakes",
        (480, 35, 52, 12, 4),
        "egg, milk, gluten",
        "Oat flour, egg whites, banana; serve with berries.",
    ),
    ("Chicken quinoa bowl", (560, 45, 55, 16, 8), None, "Grilled chicken, quinoa, roasted vegetables, tahini."),
    ("Salmon with sweet potato", (610, 40, 48, 26, 7), "fish", "Oven-baked salmon, sweet potato wedges, broccoli."),
    ("Lentil dal with rice", (540, 24, 88, 9, 14), None, "Red lentils simmered with turmeric, cumin and tomato."),
    ("Turkey chili", (520, 42, 45, 15, 12), None, "Lean turkey, kidney beans, peppers; batch-cook for the week."),
    ("Tofu stir-fry", (480, 26, 50, 18, 8), "soy, sesame", "Firm tofu, mixed vegetables and brown rice."),
    (
        "Mediterranean chickpea salad",
        (460, 18, 52, 20, 13),
        None,
        "Chickpeas, cucumber, tomato, olives, lemon dressing.",
    ),
    ("Tuna niçoise salad", (470, 36, 25, 24, 6), "fish, egg", "Tuna, green beans, potatoes, egg, olives."),
    ("Beef and broccoli", (590, 44, 52, 20, 6), "soy", "Lean beef strips, broccoli, jasmine rice."),
    ("Paella de verduras", (520, 14, 86, 13, 8), None, "Vegetable paella with saffron, peppers and artichokes."),
    ("Linsensuppe", (430, 23, 60, 9, 15), "celery", "Lentil soup with carrots, celery and potatoes."),
    ("Gazpacho with bread", (310, 8, 44, 11, 6), "gluten", "Chilled tomato soup; one slice of wholegrain bread."),
    (
        "Chicken shawarma wrap",
        (540, 38, 50, 19, 6),
        "gluten, sesame",
        "Spiced chicken, hummus, salad in a wholegrain wrap.",
    ),
    ("Miso salmon with soba", (580, 39, 60, 18, 5), "fish, soy, gluten", "Miso-glazed salmon over buckwheat noodles."),
    ("Cottage cheese and fruit", (240, 24, 22, 5, 3), "milk", "Cottage cheese with pineapple or peach."),
    ("Protein shake", (220, 30, 12, 4, 2), "milk", "One scoop whey, water or milk, half a banana."),
    ("Hummus and vegetable sticks", (260, 9, 26, 13, 8), "sesame", "Carrot, cucumber and pepper sticks with hummus."),
    ("Trail mix", (300, 9, 24, 20, 4), "nuts", "Almonds, cashews, raisins and dark chocolate chips."),
    (
        "Rice cakes with peanut butter",
        (280, 10, 28, 14, 3),
        "peanuts",
        "Two rice cakes, one tablespoon peanut butter, banana slices.",
    ),
    ("Post-workout recovery smoothie", (350, 28, 45, 6, 5), "milk", "Whey, frozen berries, oats and milk."),
)

# name, description, frequency
HABITS: tuple[tuple[str, str, str], ...] = (
    ("Drink 2 litres of water", "Keep a bottle on your desk and refill it three times.", "DAILY"),
    ("8,000 steps", "Walk at least 8,000 steps; short walks after meals count.", "DAILY"),
    ("Sleep 7+ hours", "Lights out at a regular time; no screens for 30 minutes before bed.", "DAILY"),
    ("Protein with every meal", "A palm-sized portion of protein at each main meal.", "DAILY"),
    ("Five portions of vegetables", "Fill half your plate with vegetables.", "DAILY"),
    ("10-minute mobility routine", "Follow the morning mobility video.", "WEEKDAYS"),
    ("Log your meals", "Photograph or log everything you eat in the app.", "DAILY"),
    ("Meal prep Sunday", "Cook three lunches for the week ahead.", "WEEKLY"),
    ("No alcohol on weekdays", "Save it for the weekend, if at all.", "WEEKDAYS"),
    ("Mindful breathing", "Five minutes of box breathing.", "DAILY"),
    ("Weekly weigh-in", "Weigh yourself on the same morning each week, before breakfast.", "WEEKLY"),
    ("Stretch after training", "Ten minutes of stretching after each session.", "TWICE_WEEKLY"),
    ("Screen-free evening", "No phone after 21:00.", "TWICE_WEEKLY"),
    ("Take the stairs", "Skip the lift all day.", "WEEKDAYS"),
)

# name, category, price, currency, duration_weeks, recurring (monthly invoices), metadata
PRODUCTS: tuple[tuple[str, str, str, str, int | None, bool, dict], ...] = (
    (
        "1:1 Coaching Essential",
        "COACHING",
        "89.00",
        "EUR",
        None,
        True,
        {
            "features": ["Personal plan", "Weekly check-in", "Chat with your coach"],
            "sessions_per_month": 2,
            "trial_days": 14,
            "sku": "COACH-ESS-M",
        },
    ),
    (
        "1:1 Coaching Premium",
        "COACHING",
        "179.00",
        "EUR",
        None,
        True,
        {
            "features": ["Personal plan", "Weekly video call", "Unlimited chat", "Nutrition plan"],
            "sessions_per_month": 4,
            "trial_days": 7,
            "sku": "COACH-PRE-M",
        },
    ),
    (
        "1:1 Coaching (UK)",
        "COACHING",
        "79.00",
        "GBP",
        None,
        True,
        {"features": ["Personal plan", "Weekly check-in"], "sessions_per_month": 2, "sku": "COACH-ESS-UK"},
    ),
    (
        "Coaching (US)",
        "COACHING",
        "99.00",
        "USD",
        None,
        True,
        {
            "features": ["Personal plan", "Weekly check-in", "Chat with your coach"],
            "sessions_per_month": 2,
            "sku": "COACH-ESS-US",
        },
    ),
    (
        "Nutrition Coaching",
        "NUTRITION",
        "59.00",
        "EUR",
        None,
        True,
        {"features": ["Meal plan", "Macro targets", "Monthly review"], "sku": "NUTR-M"},
    ),
    (
        "Studio Membership",
        "MEMBERSHIP",
        "49.00",
        "EUR",
        None,
        True,
        {"features": ["Unlimited classes", "Open gym"], "sessions_per_month": 30, "sku": "MEMB-M"},
    ),
    (
        "12-Week Strength Foundations",
        "PROGRAM",
        "149.00",
        "EUR",
        12,
        False,
        {"features": ["Progressive strength plan", "Technique videos"], "sku": "PRG-STR-12"},
    ),
    (
        "8-Week Fat Loss Kickstart",
        "PROGRAM",
        "119.00",
        "EUR",
        8,
        False,
        {"features": ["Training and nutrition plan", "Habit tracker"], "sku": "PRG-FAT-8"},
    ),
    (
        "10-Class Pack",
        "CLASS_PACK",
        "120.00",
        "EUR",
        16,
        False,
        {"features": ["10 group classes", "Valid 16 weeks"], "sessions_per_month": 10, "sku": "PACK-10"},
    ),
    (
        "Virtual Class Pass",
        "CLASS_PACK",
        "35.00",
        "EUR",
        4,
        False,
        {"features": ["Unlimited live-stream classes for 4 weeks"], "sku": "PACK-VIRT-4"},
    ),
)

# code, discount_type, value, start offset (days ago), duration (days) or None, usage_limit
PROMOTIONS: tuple[tuple[str, str, str, int, int | None, int | None], ...] = (
    ("WELCOME10", "PERCENT", "10.00", 360, None, None),
    ("NEWYEAR25", "PERCENT", "25.00", 330, 31, 500),
    ("SPRING15", "PERCENT", "15.00", 240, 30, 300),
    ("SUMMERFIT", "FIXED", "20.00", 150, 45, 200),
    ("FRIEND20", "FIXED", "20.00", 300, None, None),
    ("BLACKFRIDAY40", "PERCENT", "40.00", 5, 10, 1000),
    ("CORPORATE50", "PERCENT", "50.00", 200, 365, 50),
    ("COMEBACK", "FIXED", "15.00", 90, 120, 100),
)

# code, name, description, criteria
BADGES: tuple[tuple[str, str, str, dict], ...] = (
    (
        "FIRST_WORKOUT",
        "First workout",
        "Completed the first workout of a plan.",
        {"kind": "COMPLETIONS", "threshold": 1},
    ),
    ("TEN_WORKOUTS", "Ten workouts", "Completed ten planned items.", {"kind": "COMPLETIONS", "threshold": 10}),
    ("FIFTY_WORKOUTS", "Fifty workouts", "Completed fifty planned items.", {"kind": "COMPLETIONS", "threshold": 50}),
    (
        "STREAK_7",
        "One-week streak",
        "Seven days in a row with a completed item.",
        {"kind": "STREAK", "threshold": 7, "window_days": 7},
    ),
    (
        "STREAK_30",
        "Thirty-day streak",
        "Thirty days in a row with a completed item.",
        {"kind": "STREAK", "threshold": 30, "window_days": 30},
    ),
    (
        "CLASS_REGULAR",
        "Class regular",
        "Attended eight classes in a month.",
        {"kind": "ATTENDANCE", "threshold": 8, "window_days": 30},
    ),
    ("PODIUM", "On the podium", "Finished a challenge in the top three.", {"kind": "CHALLENGE_RANK", "threshold": 3}),
    (
        "MINUS_5KG",
        "Five kilos down",
        "Lost five kilograms since the first weigh-in.",
        {"kind": "METRIC_DELTA", "threshold": 5, "metric": "weight"},
    ),
    (
        "STEP_MASTER",
        "Step master",
        "Averaged 10,000 steps for four weeks.",
        {"kind": "METRIC_DELTA", "threshold": 10000, "window_days": 28, "metric": "steps"},
    ),
)

# title, goal, level, weeks, training days (0=Mon), exercise categories, include meals, include habits
PROGRAMS: tuple[tuple[str, str, str, int, tuple[int, ...], tuple[str, ...], bool, bool], ...] = (
    ("Strength Foundations", "BUILD_MUSCLE", "BEGINNER", 8, (0, 2, 4), ("Strength", "Core"), False, True),
    ("Hypertrophy Block", "BUILD_MUSCLE", "INTERMEDIATE", 6, (0, 1, 3, 4), ("Strength",), True, False),
    ("Powerlifting Peak", "BUILD_MUSCLE", "ADVANCED", 4, (0, 2, 4, 5), ("Strength", "Core"), False, False),
    ("Fat Loss Kickstart", "LOSE_WEIGHT", "BEGINNER", 8, (0, 2, 4), ("Conditioning", "Strength", "Cardio"), True, True),
    ("Lean & Strong", "LOSE_WEIGHT", "INTERMEDIATE", 6, (0, 1, 3, 5), ("Strength", "Conditioning"), True, True),
    ("Couch to 5K", "ENDURANCE", "BEGINNER", 8, (1, 3, 6), ("Cardio", "Mobility"), False, True),
    ("Half Marathon Build", "ENDURANCE", "INTERMEDIATE", 6, (1, 3, 5, 6), ("Cardio", "Core"), True, False),
    ("Mobility Reset", "MOBILITY", "ALL_LEVELS", 4, (0, 2, 4, 6), ("Mobility", "Yoga", "Recovery"), False, True),
    ("Desk Worker Fix", "MOBILITY", "BEGINNER", 4, (0, 1, 2, 3, 4), ("Mobility", "Core"), False, True),
    ("Mindful Movement", "WELLBEING", "ALL_LEVELS", 6, (0, 3, 5), ("Yoga", "Recovery", "Mobility"), False, True),
    ("Healthy Habits 30", "NUTRITION", "ALL_LEVELS", 4, (0, 2, 4), ("Cardio",), True, True),
    ("Eat to Perform", "NUTRITION", "INTERMEDIATE", 6, (0, 2, 4), ("Strength", "Conditioning"), True, True),
)

GOALS = ("LOSE_WEIGHT", "BUILD_MUSCLE", "ENDURANCE", "MOBILITY", "WELLBEING", "NUTRITION")
GOAL_WEIGHTS = {"LOSE_WEIGHT": 34, "BUILD_MUSCLE": 22, "ENDURANCE": 14, "MOBILITY": 10, "WELLBEING": 12, "NUTRITION": 8}
SECONDARY_GOALS = (
    "sleep better",
    "reduce stress",
    "run a 10k",
    "first pull-up",
    "fix posture",
    "more energy",
    "lower blood pressure",
    "eat more vegetables",
    "train consistently",
    "back pain relief",
)
RISK_FLAGS = (
    "hypertension",
    "asthma",
    "lower back pain",
    "knee injury (2022)",
    "type 2 diabetes",
    "pregnancy",
    "shoulder impingement",
    "recent surgery",
    "heart condition: cleared by GP",
)

SESSION_TITLES = {
    "CLASS": ("Morning HIIT", "Strength Circuit", "Yoga Flow", "Kettlebell Basics", "Core & Mobility", "Spin Express"),
    "ONE_ON_ONE": ("Check-in", "Technique session", "Monthly review", "Assessment", "Nutrition consult"),
    "VIRTUAL": ("Live HIIT stream", "Online Yoga", "Virtual Strength", "Breathwork live", "Lunchtime Mobility"),
    "HYBRID": ("Bootcamp (studio + online)", "Pilates hybrid", "Run club briefing", "Functional Fitness hybrid"),
}
STUDIOS = ("Studio A", "Studio B", "Outdoor area", "Functional zone", "Spin room")

COMMUNITIES = ("General", "Nutrition & recipes", "Running club", "Strength training", "Motivation & mindset")

POST_TEXTS = (
    "Finished week {w} of my plan today! Legs are sore but I feel great.",
    "Does anyone have a good high-protein breakfast that isn't eggs?",
    "New PR on {ex} today: {n} kg. Thanks coach!",
    "Struggling with motivation this week. How do you all keep going when work is busy?",
    "Tried the {meal} recipe tonight, whole family loved it.",
    "Just signed up for my first 10k in the spring. Any tips?",
    "{n} days streak on my habits. Small steps add up.",
    "Question for the group: stretching before or after the workout?",
    "Down {n} kg since I started. Slow but steady!",
    "Who is joining the class on Saturday morning?",
    "Sleep has improved so much since I cut screens before bed.",
    "Week {w} check-in done. Energy is up, cravings are down.",
)
SPAM_TEXTS = (
    "Buy cheap supplements here!!! Best prices, DM me",
    "Click my profile for the miracle fat burner, 30 kg in 30 days",
    "This coach is useless and so is everyone here",
)

THREAD_SUBJECTS = (
    "Weekly check-in",
    "Question about my plan",
    "Knee pain during squats",
    "Nutrition questions",
    "Travelling next week",
    "Progress photos",
    "Adjusting my schedule",
    "New goal for next month",
)
COACH_LINES = (
    "How did this week's sessions feel? Anything too hard or too easy?",
    "Great work on the consistency this week!",
    "Let's swap the lunges for step-ups until your knee settles.",
    "Remember to log your meals, it helps me adjust your targets.",
    "I've added a deload week to your plan.",
    "Try to get the protein in earlier in the day.",
    "Nice progress on the weigh-ins, keep it steady.",
    "Can we move our call to Thursday?",
)
CUSTOMER_LINES = (
    "Thanks! The squats felt heavy but doable.",
    "I missed Wednesday because of work, can I do it on Saturday?",
    "My knee hurt a bit during the lunges.",
    "What should I eat before a morning session?",
    "I'm travelling next week, only have a hotel gym.",
    "Feeling much more energetic lately.",
    "Could we increase the running volume a little?",
    "Sorry for the late reply, busy week!",
)

TICKET_SUBJECTS = (
    ("Charged twice this month", "HIGH"),
    ("Cannot log in to the app", "URGENT"),
    ("How do I pause my subscription?", "NORMAL"),
    ("Update my payment card", "NORMAL"),
    ("Wearable not syncing", "NORMAL"),
    ("Request a refund", "HIGH"),
    ("Change my coach", "LOW"),
    ("Invoice with company address", "LOW"),
    ("Class booking shows wrong time", "NORMAL"),
    ("Delete my account and data", "HIGH"),
    ("Promo code not accepted", "NORMAL"),
    ("App crashes when logging meals", "URGENT"),
)
RESOLUTIONS = (
    "Duplicate charge refunded; customer informed.",
    "Password reset link sent; customer confirmed access.",
    "Subscription paused as requested.",
    "Customer updated card via the billing portal.",
    "Re-authorised the wearable; sync is working again.",
    "Refund issued according to the refund policy.",
    "Assigned to a new coach after a short call.",
    "Invoice reissued with the company address.",
    "Timezone in the profile corrected; bookings now display correctly.",
    "Data-subject erasure request forwarded to compliance and completed.",
    "Promotion had expired; applied a goodwill discount instead.",
    "Known app bug; fixed in release 4.2, customer updated.",
)

ANNOUNCEMENTS: tuple[tuple[str, str, str, str], ...] = (
    ("New year, new goals", "Start January strong: 25% off all programs with NEWYEAR25.", "EMAIL", "all_customers"),
    (
        "Studio closed on public holiday",
        "The studio is closed on Monday; online classes run as usual.",
        "PUSH",
        "members",
    ),
    ("Your weekly summary is ready", "See how your week went in the app.", "INAPP", "active_customers"),
    ("Class reminder", "Your class starts in two hours. See you there!", "SMS", "booked_today"),
    ("Summer challenge starts", "Join the 30-day step challenge and win a free month.", "PUSH", "all_customers"),
    ("We miss you", "It's been a while. Come back with 15 EUR off using COMEBACK.", "EMAIL", "churned_90d"),
    ("New nutrition coaching", "Personal meal plans are now available with your coach.", "INAPP", "coaching_customers"),
    ("Payment failed", "We couldn't process your last payment. Please update your card.", "SMS", "past_due"),
    ("Black Friday", "40% off everything this week only.", "EMAIL", "all_customers"),
    ("App update 4.2", "Meal logging is faster and the crash on older phones is fixed.", "PUSH", "app_users"),
    ("Coach office hours", "Drop-in Q&A with the coaching team every Friday at noon.", "INAPP", "all_customers"),
    (
        "Privacy policy update",
        "We've updated our privacy policy; the changes take effect next month.",
        "EMAIL",
        "all_users",
    ),
)

CHALLENGES: tuple[tuple[str, str, dict], ...] = (
    (
        "Winter Step Challenge",
        "Walk as many steps as you can in 30 days.",
        {"metric": "STEPS", "aggregation": "SUM", "target": 300000},
    ),
    (
        "Spring Workout Streak",
        "Complete as many planned workouts as possible.",
        {"metric": "WORKOUTS", "aggregation": "COUNT", "target": 20},
    ),
    (
        "Summer 100 km",
        "Run, walk or cycle 100 km this month.",
        {"metric": "DISTANCE_KM", "aggregation": "SUM", "target": 100},
    ),
    (
        "Habit Hero",
        "Tick off your daily habits every day.",
        {"metric": "HABIT_DAYS", "aggregation": "COUNT", "target": 28},
    ),
    (
        "Team Minutes Cup",
        "Team challenge: active minutes add up.",
        {"metric": "MINUTES", "aggregation": "SUM", "target": 1200, "team_size": 5},
    ),
    (
        "Autumn Step Challenge",
        "Back to routine: steps every day.",
        {"metric": "STEPS", "aggregation": "SUM", "target": 280000},
    ),
    (
        "Holiday Consistency",
        "Keep training through the holidays.",
        {"metric": "WORKOUTS", "aggregation": "COUNT", "target": 12},
    ),
)

FAILURE_REASONS = (
    "card_declined: insufficient funds",
    "card_declined: do not honor",
    "expired_card",
    "authentication_required: 3-D Secure not completed",
    "incorrect_cvc",
    "processing_error: issuer unavailable",
    "sepa_debit: account closed",
)
PROVIDERS = {
    "CARD": "stripe",
    "APPLE_PAY": "stripe",
    "GOOGLE_PAY": "stripe",
    "SEPA_DEBIT": "stripe",
    "PAYPAL": "paypal",
    "BANK_TRANSFER": "manual",
}

WEARABLE_PROVIDERS = ("garmin", "fitbit", "apple_health", "strava", "polar", "oura")

# One policy per entity that may carry one (app.services.retention.policies.RETENTION_ENTITIES),
# each valid there. The demo covers a year, so the short periods find rows a dry run would touch
# (sessions, API logs, recommendations, automation, events), and every strategy is shown.
RETENTION_POLICIES: tuple[tuple[str, int, str], ...] = (
    ("auth_sessions", 30, "HARD_DELETE"),
    ("api_access_logs", 30, "HARD_DELETE"),
    ("recommendation_logs", 180, "ANONYMIZE"),
    ("automation_executions", 180, "HARD_DELETE"),
    ("coach_availability_exceptions", 365, "HARD_DELETE"),
    ("domain_events", 365, "ARCHIVE"),
    ("engagement_events", 270, "ARCHIVE"),
    ("progress_metrics", 730, "ARCHIVE"),
    ("messages", 1095, "ARCHIVE"),
    ("support_tickets", 1095, "ANONYMIZE"),
    ("assessments", 1095, "ANONYMIZE"),
    ("community_posts", 1095, "ARCHIVE"),
    ("threads", 1095, "ANONYMIZE"),
    ("consents", 2190, "ARCHIVE"),
    ("audit_logs", 3650, "ARCHIVE"),
)
