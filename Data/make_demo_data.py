"""Write a synthetic demo set of app reviews in the google-play-scraper CSV layout.

Every review is invented for "Mossnote", a fictional photo, design and notes
app. Run from the repository root:

    python Data/make_demo_data.py [OUTPUT_CSV]

OUTPUT_CSV defaults to review_data.csv next to this script. The output is the
same byte for byte on every run because all choices come from one seeded RNG.
"""

import csv
import hashlib
import random
import sys
from datetime import datetime, timedelta
from pathlib import Path

SEED = 20240305

# Columns of a CSV saved from the review dicts that google-play-scraper's
# reviews() returns.
HEADER = [
    "reviewId", "userName", "userImage", "content", "score",
    "thumbsUpCount", "reviewCreatedVersion", "at", "replyContent", "repliedAt",
]

# Rows per star score, skewed like a real store: 60/12/7/6/15 percent of 700.
TARGET_COUNTS = {5: 420, 4: 84, 3: 49, 2: 42, 1: 105}

# Share of generated reviews whose text is drawn from another star level.
LABEL_NOISE_RATE = 0.04

FIRST_REVIEW_TIME = datetime(2023, 1, 1)
LAST_REVIEW_TIME = datetime(2024, 12, 31, 23, 59, 59)

# ---------------------------------------------------------------------------
# Phrase banks for composed reviews
# ---------------------------------------------------------------------------

OPENERS = {
    5: [
        "Absolutely love this app!", "Best photo and notes app I've used.",
        "Wow.", "Five stars, no question.", "This app is a gem.",
        "I've tried a dozen apps like this and this one wins.", "Amazing app!",
        "Been using it for two years now.", "So glad I found this.",
        "Honestly perfect.", "This is exactly what I needed for my journaling.",
        "As a graphic design student, I think this app is a must.",
        "Finally an app that just works.", "Mossnote is fantastic.",
    ],
    4: [
        "Really good app.", "Very good overall.", "Almost perfect.",
        "Solid app.", "Pretty great so far.", "I like it a lot.",
        "Good app with a few rough edges.", "Happy with it.",
        "Four stars from me.", "Mossnote is really nice.",
        "Great app, small complaints.",
    ],
    3: [
        "It's okay.", "Decent app.", "Mixed feelings about this one.",
        "Average.", "Not bad, not great.", "It does the job, mostly.",
        "Could be better.", "Three stars for now.", "It's alright.",
        "Mossnote is fine, I suppose.",
    ],
    2: [
        "Disappointed.", "Used to be good.", "Not worth it anymore.",
        "Frustrating app.", "Expected a lot more.",
        "I really wanted to like this.", "Going downhill.",
        "Two stars because it sometimes works.", "Pretty annoying app.",
        "Mossnote has gotten worse.",
    ],
    1: [
        "Worst app ever.", "Do not download.", "Terrible.",
        "Absolute garbage.", "Waste of time and money.", "Uninstalling.",
        "Don't bother.", "Total scam.", "This app is a joke.",
        "Horrible experience.", "Awful, just awful.",
    ],
}

CLOSERS = {
    5: [
        "Highly recommend!", "Keep up the great work!", "Worth every penny.",
        "Thank you, devs!", "Can't imagine my day without it.", "10/10.",
        "Five stars!", "Love love love it ❤️", "Recommended to all my friends.",
    ],
    4: [
        "Would give 5 stars if that gets fixed.", "Still recommend it.",
        "Keep improving!", "Overall happy.", "Worth trying.", "Good job, devs.",
        "Four stars for now.",
    ],
    3: [
        "Will update my rating if it improves.", "Hoping the next update helps.",
        "Keeping it for now.", "It's fine for the price, I guess.", "3 stars.",
        "We'll see.",
    ],
    2: [
        "Please fix this.", "Looking for alternatives.",
        "Not recommended right now.", "Fix it and I'll change my rating.",
        "So close to being good.", "Very disappointing.",
    ],
    1: [
        "Avoid.", "Uninstalled.", "Want my money back.", "Never again.",
        "Zero stars if I could.", "Fix your app!", "Stay away.",
        "Don't waste your money.",
    ],
}

PRAISE = [
    "Sync between my phone and tablet is instant.",
    "Export to PDF keeps the layout exactly as I drew it.",
    "Dark mode is easy on the eyes at night.",
    "The templates save me so much time.",
    "Offline mode actually works, I use it on the subway every day.",
    "It barely touches my battery.",
    "Customer support replied within a day and fixed my problem.",
    "Every update adds something useful.",
    "Login with Google took two seconds.",
    "The brush engine feels really natural with a stylus.",
    "No ads, and the free version is generous.",
    "The photo filters look professional without being over the top.",
    "Layers and masks work just like on desktop.",
    "Search finds text even in my handwritten notes.",
    "Backups to the cloud run quietly in the background.",
    "The crop and straighten tools are quick and precise.",
    "I love how clean and simple the interface is.",
    "It opens fast even with hundreds of notes.",
    "The subscription is fair for what you get.",
    "Exporting PNGs with a transparent background is super handy.",
    "Folders and tags keep my projects organized.",
    "The home screen widget is great for quick notes.",
    "Never had a single crash.",
    "Scanning documents with the camera is surprisingly good.",
    "Sharing a board with my team just works.",
    "The collage maker is so much fun.",
    "Undo history goes back forever, which has saved me many times.",
]

COMPLAINTS = [
    "It crashes every time I try to export.",
    "Sync keeps duplicating my notes.",
    "Ads pop up after every single action.",
    "The subscription price doubled overnight.",
    "I can't log in since the last update.",
    "It drains my battery in a couple of hours.",
    "Offline mode is a lie, nothing loads without internet.",
    "Customer support never answered my emails.",
    "Exported PDFs come out blurry.",
    "Dark mode resets to light mode every time I open it.",
    "Half the templates are locked behind the paywall.",
    "My drawings disappeared after the update.",
    "The app freezes when I open large photos.",
    "It logs me out every other day.",
    "The new update moved every button I used.",
    "Cloud backup failed silently and I lost a week of work.",
    "Stylus input lags way behind my pen.",
    "The free trial charged me without any warning.",
    "Search can't find notes I know are there.",
    "Pinch to zoom is jumpy and slow.",
    "It keeps asking for permissions it doesn't need.",
    "Text in exported images gets cut off.",
    "Every update breaks something new.",
    "There's no way to cancel the subscription inside the app.",
]

MINOR_WISHES = [
    "Only wish there were more fonts.",
    "It would be perfect with a desktop version.",
    "Sync is sometimes a bit slow, but it always catches up.",
    "The price is a little high, but worth it.",
    "A few templates feel dated.",
    "Dark mode could use a true black option.",
    "Export takes a while for big files.",
    "I'd love an option to hide the toolbar.",
    "Occasionally it lags with lots of layers.",
    "The ads in the free version are a bit annoying, but not terrible.",
    "Please add landscape mode for phones.",
    "Handwriting recognition misses a word here and there.",
    "The login screen sometimes needs two tries.",
    "Battery use is a bit high when the brush engine is open.",
]

MIXED = [
    "Some days it works perfectly, other days sync just gives up.",
    "Great features, but the app feels heavy on older phones.",
    "I like the editor, I don't like the price.",
    "It's decent for quick notes, not so much for serious design work.",
    "The last update fixed export but broke dark mode.",
    "Good when it works.",
    "Half of what I need is free, the other half costs too much.",
    "Support was polite but didn't actually fix anything.",
    "The templates are pretty, but loading them takes forever.",
    "Offline mode is handy, though sync conflicts are common afterwards.",
]

# Templates add variety on top of the fixed sentences.
FEATURES = [
    "sync", "PDF export", "dark mode", "template library", "offline mode",
    "layer panel", "brush engine", "photo editor", "handwriting search",
    "cloud backup", "stylus support", "widget", "collage maker",
    "color picker", "text tool",
]
PRAISE_TEMPLATES = [
    "The {feature} is {adjective}.",
    "I use the {feature} every day and it's {adjective}.",
    "Really impressed by the {feature}.",
    "The {feature} alone is worth it.",
]
PRAISE_ADJECTIVES = [
    "excellent", "brilliant", "rock solid", "smooth", "super intuitive",
    "a lifesaver", "really well done",
]
COMPLAINT_TEMPLATES = [
    "The {feature} is {adjective}.",
    "The {feature} stopped working after the last update.",
    "Why is the {feature} so {adjective}?",
    "Please fix the {feature}, it's {adjective}.",
]
COMPLAINT_ADJECTIVES = [
    "broken", "painfully slow", "buggy", "clunky", "unreliable", "a mess",
]

# Weighted body sentence sources for each star level.
BODY_MIX = {
    5: {"praise": 1.0},
    4: {"praise": 0.65, "minor": 0.35},
    3: {"mixed": 0.35, "minor": 0.25, "praise": 0.2, "complaint": 0.2},
    2: {"complaint": 0.7, "mixed": 0.2, "praise": 0.1},
    1: {"complaint": 1.0},
}

# Asides that pad out the long, rambling reviews.
RAMBLE = [
    "I use it mostly for my bakery's menus and for sketching cake designs.",
    "My phone is a three year old Pixel, if that matters.",
    "I've been a paying user since one of the very first versions.",
    "I know the developers are a small team, and I respect that.",
    "I tried reinstalling, clearing the cache, restarting the phone, all of it.",
    "My sister recommended it to me last spring.",
    "Sorry for the long review but I want other people to know.",
    "I also emailed support about this twice.",
    "Before this I used paper notebooks and three different apps.",
    "I read through the help pages and the forum before writing this.",
    "My whole workflow for school depends on this thing.",
    "I even made a little tutorial for my classmates.",
    "This is on a Samsung tablet with the latest Android version.",
    "I don't usually write reviews, so bear with me.",
]
CONNECTORS = [
    "Also,", "And another thing:", "Anyway,", "Oh, and", "To be fair,",
    "Honestly,", "Like I said,", "On top of that,", "Then again,",
]

# ---------------------------------------------------------------------------
# Hand-written reviews, including the messy cases
# ---------------------------------------------------------------------------

HANDWRITTEN = [
    # 5 stars
    ("😍😍😍", 5),
    ("🔥🔥🔥🔥", 5),
    ("⭐⭐⭐⭐⭐", 5),
    ("💯💯 best app", 5),
    ("Perfect!", 5),
    ("Love it 💜💜", 5),
    ("gud app, very nice 👍", 5),
    ("best app 4 my notes fr fr, no cap", 5),
    ("ths app is amazin, dowloaded it yesterday n already made 10 collages", 5),
    ("lit app 🔥 the filters go hard", 5),
    ("Not bad at all. Actually it's the best notes app I've tried this year.", 5),
    ("I NEVER WRITE REVIEWS BUT THIS APP IS AMAZING!!! THE TEMPLATES ALONE ARE WORTH IT", 5),
    ("BEST APP EVER!!!!!", 5),
    ("Me encanta. La exportación a PDF funciona perfecto y el modo oscuro es precioso.", 5),
    ("Super App! Die Synchronisierung zwischen Handy und Tablet klappt ohne Probleme.", 5),
    ("Aplikasinya bagus banget, fiturnya lengkap dan tidak ada iklan yang mengganggu.", 5),
    ("Excelente aplicativo, uso todos os dias para organizar minhas fotos e anotações.", 5),
    ("Application géniale, les modèles sont magnifiques et tout est fluide.", 5),
    ('My daughter calls it "the magic sketchbook", and honestly, she\'s right.', 5),
    ("Pros:\n- fast\n- clean design\n- real offline mode\nCons:\n- none so far", 5),
    ("Switched from a big-name editor, never looked back. Layers, masks, curves, all there, all smooth.", 5),
    ("Customer support answered in 2 hours on a Sunday. Who does that?? Five stars.", 5),
    ("Terrible app, can't stop using it 😂 my screen time is ruined", 5),
    ("This tutorial got me started: https://example.com/mossnote/getting-started and after that everything clicked.", 5),
    ("Works great on my old Galaxy tablet, doesn't drain the battery, doesn't nag me to pay. 10/10", 5),
    ("Never crashes, never loses a note, never shows an ad. That's all I ask.", 5),
    ("Can't complain.", 5),
    ("Hate the new icon, love everything else", 5),
    # 4 stars
    ("Good", 4),
    ("Nice app 👍", 4),
    ("Really good, but please add a way to sort templates by date.", 4),
    ("Solid app. Dark mode could be darker though, it's more grey than black.", 4),
    ("Muy buena app, solo le falta sincronizar con la computadora.", 4),
    ("Très bonne application, mais l'export en PNG est un peu lent sur mon téléphone.", 4),
    ("gr8 app just wish the pro plan was cheaper lol", 4),
    ('The "Quick note" widget is genius. Only taking a star because search can\'t find words inside images.', 4),
    ("Does what it says. Not bad at all, a few small bugs with the stylus.", 4),
    ("Gute App, aber bitte mehr Schriftarten hinzufügen.", 4),
    ("Love it, but the \"Pro\" badge on half the brushes is a bit much.\nStill recommend.", 4),
    # 3 stars
    ("Meh.", 3),
    ("🤷", 3),
    ("kinda mid tbh", 3),
    ("its aight", 3),
    ("It's fine, I guess. Nothing special, nothing terrible.", 3),
    ("Good editor, awful subscription model. $9.99 a month for a notes app, really?", 3),
    ("Es buena pero se traba mucho cuando abro fotos grandes.", 3),
    ("Ganz okay, aber die Werbung nervt. Drei Sterne.", 3),
    ("Features: great. Sync: 50/50. Support: slow. Average = 3 stars", 3),
    ("used to be 5 stars, now its 3\nthe new toolbar hides everything i need", 3),
    ("Not great, not terrible.", 3),
    ("I don't hate it, but I don't love it either.", 3),
    ("Lumayan, tapi fitur ekspornya masih sering error.", 3),
    # 2 stars
    ("Meh 👎", 2),
    ("sync broke again smh", 2),
    ("wrost update ever, bring back the old layout pls", 2),
    ("Nice idea but it never saves my brushes, every time I reopen it they're gone.", 2),
    ("Bom app, mas trava demais depois da última atualização.", 2),
    ("Aplikasi lumayan, tapi sering keluar sendiri waktu ekspor foto.", 2),
    ('I wanted to like it. The templates are pretty, but the login loop, the ads, and the constant "upgrade to Pro" popups make it hard.', 2),
    ("Not worth the money.", 2),
    ("C'est joli, mais la synchronisation ne marche presque jamais.", 2),
    ("Realy slow and laggy, thinking about uninstaling", 2),
    # 1 star
    ("👎", 1),
    ("👎👎👎", 1),
    ("😡", 1),
    ("🤮 ads everywhere", 1),
    ("Garbage.", 1),
    ("DOESN'T OPEN. AT ALL. FIX IT!!!!", 1),
    ("STOP SHOWING ME ADS EVERY 30 SECONDS", 1),
    ("WHERE ARE MY NOTES????", 1),
    ("never works. crashes on launch, every single time", 1),
    ("Lost 2 years of notes after the update. No backup, no reply from support. Avoid.", 1),
    ('Charged me for a year after I cancelled the trial. Support says "we can\'t see your order". Reported to Google.', 1),
    ("Totalmente inútil, se cierra sola cada vez que intento exportar.", 1),
    ("Funktioniert nicht. Nach dem Update kann ich mich nicht mehr einloggen.", 1),
    ("Nul. L'application plante à chaque démarrage depuis la mise à jour.", 1),
    ("Péssimo, apagou todas as minhas notas.", 1),
    ("Jelek, iklannya banyak banget dan aplikasinya lemot.", 1),
    ("this app is trash no cap, uninstalled", 1),
    ("cant login, cant export, cant get a refund. what CAN i do", 1),
    ("Update:\nStill broken.\nUpdate 2:\nStill broken, and now it logs me out too.", 1),
    # Label noise: text and stars disagree, as with real mis-taps.
    ("Best app ever!!!", 1),
    ("Love the design 😍", 1),
    ("Crashes all the time and sync is broken.", 4),
]

# Short reviews repeated verbatim, as (content, score, copies). The copies
# beyond the first are exact duplicate rows.
REPEATED = [
    ("Great app", 5, 4),
    ("Love it", 5, 3),
    ("Nice", 5, 3),
    ("Great", 5, 2),
    ("ok", 3, 2),
    ("Useless", 1, 2),
]

# Scores of the long (1,500-3,000 characters) rambling reviews.
LONG_REVIEW_SCORES = [1, 1, 2, 3, 5]

DEVELOPER_REPLIES = {
    "low": [
        "Hi, sorry about the trouble! Please write to support@example.com with your device model so we can look into it.",
        "Thanks for reporting this. Version 3.9 fixes the sync issue, please update and let us know if it still happens.",
        "We're sorry you lost work. Deleted notes stay in Settings > Trash for 30 days, so please check there first.",
        "Sorry for the frustration. You can cancel the subscription any time in Google Play > Payments & subscriptions.",
        "Hi! We couldn't reproduce this crash yet. Could you send us the log from Settings > Help > Send report?",
    ],
    "high": [
        "Thank you so much for the kind words! 💚",
        "Thanks! Glad Mossnote helps with your projects.",
        "Thanks for the review, and thanks for the suggestion, it's on our list.",
    ],
}
REPLY_RATE = {1: 0.30, 2: 0.25, 3: 0.12, 4: 0.05, 5: 0.03}


def pick_sentence(rng, source):
    """Return one sentence from the named bank, sometimes from a template."""
    if source == "praise":
        if rng.random() < 0.25:
            return rng.choice(PRAISE_TEMPLATES).format(
                feature=rng.choice(FEATURES), adjective=rng.choice(PRAISE_ADJECTIVES))
        return rng.choice(PRAISE)
    if source == "complaint":
        if rng.random() < 0.25:
            return rng.choice(COMPLAINT_TEMPLATES).format(
                feature=rng.choice(FEATURES), adjective=rng.choice(COMPLAINT_ADJECTIVES))
        return rng.choice(COMPLAINTS)
    if source == "minor":
        return rng.choice(MINOR_WISHES)
    return rng.choice(MIXED)


def compose_review(rng, star):
    """Build a review of 1 to 6 sentences in the tone of the given star level."""
    sentence_count = rng.choices([1, 2, 3, 4, 5, 6], weights=[18, 26, 24, 16, 10, 6])[0]
    if sentence_count == 1:
        pool = rng.choice(["opener", "body", "body"])
        if pool == "opener":
            return rng.choice(OPENERS[star])

    sources = list(BODY_MIX[star])
    weights = list(BODY_MIX[star].values())
    use_opener = sentence_count >= 2 and rng.random() < 0.7
    use_closer = sentence_count >= 3 and rng.random() < 0.5
    body_count = sentence_count - use_opener - use_closer

    sentences = []
    while len(sentences) < body_count:
        sentence = pick_sentence(rng, rng.choices(sources, weights=weights)[0])
        if sentence not in sentences:
            sentences.append(sentence)
    if use_opener:
        sentences.insert(0, rng.choice(OPENERS[star]))
    if use_closer:
        sentences.append(rng.choice(CLOSERS[star]))
    return " ".join(sentences)


def roughen(rng, text):
    """Apply the casual typing habits of real reviewers to some texts."""
    roll = rng.random()
    if roll < 0.07:
        return text.lower()
    if roll < 0.16 and text.endswith("."):
        return text[:-1]
    if roll < 0.20 and text.endswith("."):
        return text[:-1] + "!!"
    return text


def compose_long_review(rng, star):
    """Build a rambling review of 1,500 to 3,000 characters with paragraphs."""
    if star >= 4:
        pool = PRAISE + MINOR_WISHES + [pick_sentence(rng, "praise") for _ in range(6)]
    elif star == 3:
        pool = MIXED + MINOR_WISHES + PRAISE[:10] + COMPLAINTS[:10]
    else:
        pool = COMPLAINTS + MIXED + [pick_sentence(rng, "complaint") for _ in range(6)]
    pool = list(dict.fromkeys(pool + RAMBLE))
    rng.shuffle(pool)

    # Every pool has more than 2,300 characters, so pop() cannot run dry.
    target_length = rng.randint(1600, 2300)
    paragraphs = [[rng.choice(OPENERS[star])]]
    length = len(paragraphs[0][0])
    while length < target_length:
        sentence = pool.pop()
        if rng.random() < 0.35:
            if not sentence.startswith(("I ", "I'")):
                sentence = sentence[0].lower() + sentence[1:]
            sentence = rng.choice(CONNECTORS) + " " + sentence
        if len(paragraphs[-1]) >= rng.randint(4, 6):
            paragraphs.append([])
        paragraphs[-1].append(sentence)
        length += len(sentence) + 1
    paragraphs[-1].append(rng.choice(CLOSERS[star]))

    text = "\n\n".join(" ".join(paragraph) for paragraph in paragraphs)
    assert 1500 <= len(text) <= 3000, len(text)
    return text


def build_reviews(rng):
    """Return (content, score) pairs with exactly TARGET_COUNTS per score."""
    reviews = list(HANDWRITTEN)
    for content, score, copies in REPEATED:
        reviews.extend([(content, score)] * copies)
    reviews.extend((compose_long_review(rng, star), star) for star in LONG_REVIEW_SCORES)
    # A rating left without any text.
    reviews.append(("", 5))

    # Generated reviews must not repeat any text, so the only exact
    # duplicates are the ones listed in REPEATED.
    seen = {content for content, _ in reviews}
    assert len(seen) == len(HANDWRITTEN) + len(REPEATED) + len(LONG_REVIEW_SCORES) + 1

    for star, target in TARGET_COUNTS.items():
        missing = target - sum(1 for _, score in reviews if score == star)
        assert missing >= 0, f"too many fixed reviews for {star} stars"
        while missing > 0:
            text_star = star
            if rng.random() < LABEL_NOISE_RATE:
                text_star = rng.choice([s for s in TARGET_COUNTS if s != star])
            content = roughen(rng, compose_review(rng, text_star))
            if content in seen:
                continue
            seen.add(content)
            reviews.append((content, star))
            missing -= 1

    rng.shuffle(reviews)
    return reviews


def app_version(rng, review_time):
    """Return the app version a review was written on, or "" when unknown."""
    if rng.random() < 0.12:
        return ""
    # One minor release about every two months.
    months = (review_time.year - FIRST_REVIEW_TIME.year) * 12 + review_time.month - 1
    return f"3.{months // 2}.{rng.randint(0, 3)}"


def build_rows(rng, reviews):
    """Add ids, user names, dates, versions and replies to each review."""
    span_seconds = int((LAST_REVIEW_TIME - FIRST_REVIEW_TIME).total_seconds())
    times = sorted(
        (FIRST_REVIEW_TIME + timedelta(seconds=rng.randint(0, span_seconds))
         for _ in reviews),
        reverse=True,  # Newest first, as reviews(..., sort=Sort.NEWEST) returns them.
    )

    rows = []
    for index, ((content, score), review_time) in enumerate(zip(reviews, times)):
        thumbs_up = 0
        if rng.random() < 0.35:
            thumbs_up = min(int(rng.paretovariate(1.2)), 150)

        reply, replied_at = "", ""
        if rng.random() < REPLY_RATE[score]:
            tone = "high" if score >= 4 else "low"
            reply = rng.choice(DEVELOPER_REPLIES[tone])
            reply_time = review_time + timedelta(minutes=rng.randint(30, 14 * 24 * 60))
            replied_at = reply_time.strftime("%Y-%m-%d %H:%M:%S")

        rows.append([
            "demo:" + hashlib.sha1(str(index).encode()).hexdigest(),
            f"Demo user {index + 1:04d}",
            "",
            content,
            score,
            thumbs_up,
            app_version(rng, review_time),
            review_time.strftime("%Y-%m-%d %H:%M:%S"),
            reply,
            replied_at,
        ])
    return rows


def main():
    default_path = Path(__file__).resolve().parent / "review_data.csv"
    output_path = Path(sys.argv[1]) if len(sys.argv) > 1 else default_path

    rng = random.Random(SEED)
    rows = build_rows(rng, build_reviews(rng))

    with open(output_path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(HEADER)
        writer.writerows(rows)
    print(f"Wrote {len(rows)} reviews to {output_path}")


if __name__ == "__main__":
    main()
