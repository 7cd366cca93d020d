//! The closed value lists of report v1 (DOMAIN.md): strands, incident types,
//! places, answers. Each is an enum whose JSON form is the snake_case word in
//! the domain table, with a plain-English label for people and a list of every
//! value so the documentation, prompts and validation share one source.

use serde::{Deserialize, Serialize};

/// Defines a vocabulary enum: JSON word, English label, and `ALL`.
macro_rules! vocab {
    (
        $(#[$meta:meta])*
        $name:ident { $( $(#[$vmeta:meta])* $variant:ident = $word:literal / $label:literal ),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[cfg_attr(feature = "bindings", derive(specta::Type))]
        pub enum $name {
            $( $(#[$vmeta])* #[serde(rename = $word)] $variant ),+
        }

        impl $name {
            /// Every value, in the order forms and summaries show them.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The JSON word for this value.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $word),+ }
            }

            /// A short English label for people.
            pub fn label(self) -> &'static str {
                match self { $($name::$variant => $label),+ }
            }

            /// Parses the JSON word.
            pub fn from_word(word: &str) -> Option<Self> {
                match word { $($word => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

vocab! {
    /// Who is making the report.
    ReporterRole {
        /// The person targeted.
        Victim = "victim" / "Victim",
        /// Someone who saw it.
        Witness = "witness" / "Witness",
        /// Someone reporting for the person targeted.
        ThirdPartyOnBehalf = "third_party_on_behalf" / "Third party on behalf of the victim",
        /// An organisation reporting.
        Organisation = "organisation" / "Organisation",
    }
}

vocab! {
    /// The hostility perceived (the five monitored strands plus local ones).
    Strand {
        /// Race or ethnicity.
        RaceEthnicity = "race_ethnicity" / "Race or ethnicity",
        /// Religion or belief.
        ReligionBelief = "religion_belief" / "Religion or belief",
        /// Sexual orientation.
        SexualOrientation = "sexual_orientation" / "Sexual orientation",
        /// Disability.
        Disability = "disability" / "Disability",
        /// Transgender identity.
        TransgenderIdentity = "transgender_identity" / "Transgender identity",
        /// Alternative subculture.
        AlternativeSubculture = "alternative_subculture" / "Alternative subculture",
        /// Sex or gender.
        SexGender = "sex_gender" / "Sex or gender",
        /// Age.
        Age = "age" / "Age",
        /// Something else (described in `strand_other`).
        Other = "other" / "Other",
    }
}

vocab! {
    /// What happened.
    IncidentType {
        /// Verbal abuse.
        VerbalAbuse = "verbal_abuse" / "Verbal abuse",
        /// Harassment.
        Harassment = "harassment" / "Harassment",
        /// Threats.
        Threats = "threats" / "Threats",
        /// Physical assault.
        PhysicalAssault = "physical_assault" / "Physical assault",
        /// Criminal damage.
        CriminalDamage = "criminal_damage" / "Criminal damage",
        /// Graffiti.
        Graffiti = "graffiti" / "Graffiti",
        /// Online abuse.
        OnlineAbuse = "online_abuse" / "Online abuse",
        /// Hate mail or leaflets.
        HateMailOrLeaflets = "hate_mail_or_leaflets" / "Hate mail or leaflets",
        /// Theft or robbery.
        TheftOrRobbery = "theft_or_robbery" / "Theft or robbery",
        /// Spitting.
        Spitting = "spitting" / "Spitting",
        /// Sexual offence.
        SexualOffence = "sexual_offence" / "Sexual offence",
        /// Something else (described in `incident_type_other`).
        Other = "other" / "Other",
    }
}

vocab! {
    /// Whether it has happened before.
    Repeat {
        /// The first time.
        FirstTime = "first_time" / "First time",
        /// It has happened before.
        HappenedBefore = "happened_before" / "Happened before",
        /// It is ongoing.
        Ongoing = "ongoing" / "Ongoing",
    }
}

vocab! {
    /// The kind of place.
    LocationType {
        /// Street or public place.
        StreetOrPublicPlace = "street_or_public_place" / "Street or public place",
        /// At or near home.
        HomeOrNearHome = "home_or_near_home" / "Home or near home",
        /// Public transport.
        PublicTransport = "public_transport" / "Public transport",
        /// Shop or business.
        ShopOrBusiness = "shop_or_business" / "Shop or business",
        /// Workplace.
        Workplace = "workplace" / "Workplace",
        /// School, college or university.
        SchoolCollegeUniversity = "school_college_university" / "School, college or university",
        /// Place of worship.
        PlaceOfWorship = "place_of_worship" / "Place of worship",
        /// Online.
        Online = "online" / "Online",
        /// Somewhere else.
        Other = "other" / "Other",
    }
}

vocab! {
    /// How many offenders.
    OffenderCount {
        /// Not known.
        Unknown = "unknown" / "Unknown",
        /// One.
        One = "1" / "1",
        /// Two.
        Two = "2" / "2",
        /// Three or more.
        ThreeOrMore = "3+" / "3 or more",
    }
}

vocab! {
    /// Yes, no or not known.
    YesNoUnknown {
        /// Yes.
        Yes = "yes" / "Yes",
        /// No.
        No = "no" / "No",
        /// Not known.
        Unknown = "unknown" / "Unknown",
    }
}

vocab! {
    /// How badly the person was hurt.
    Injury {
        /// No injury.
        None = "none" / "None",
        /// Minor injury.
        Minor = "minor" / "Minor",
        /// Serious injury.
        Serious = "serious" / "Serious",
        /// Not known.
        Unknown = "unknown" / "Unknown",
    }
}

vocab! {
    /// The three levels of consent third-party reporting services use.
    PassToPolice {
        /// Pass the report to the police with the person's details.
        Identified = "identified" / "Yes, with their details",
        /// Pass it on without anything that identifies them.
        AnonymousOnly = "anonymous_only" / "Yes, anonymously",
        /// Do not pass it to the police.
        No = "no" / "No",
    }
}

vocab! {
    /// Kinds of support the person asked for.
    SupportNeed {
        /// Emotional support.
        Emotional = "emotional" / "Emotional",
        /// Practical help.
        Practical = "practical" / "Practical",
        /// Safety advice.
        Safety = "safety" / "Safety",
        /// Language support.
        Language = "language" / "Language",
        /// Something else (see `support_notes`).
        Other = "other" / "Other",
    }
}

vocab! {
    /// Age band (monitoring, special care).
    AgeBand {
        /// Under 18.
        Under18 = "under_18" / "Under 18",
        /// 18 to 24.
        From18To24 = "18-24" / "18-24",
        /// 25 to 34.
        From25To34 = "25-34" / "25-34",
        /// 35 to 44.
        From35To44 = "35-44" / "35-44",
        /// 45 to 54.
        From45To54 = "45-54" / "45-54",
        /// 55 to 64.
        From55To64 = "55-64" / "55-64",
        /// 65 to 74.
        From65To74 = "65-74" / "65-74",
        /// 75 and over.
        From75 = "75+" / "75 and over",
        /// Prefers not to say.
        PreferNotToSay = "prefer_not_to_say" / "Prefer not to say",
    }
}

vocab! {
    /// Gender (monitoring).
    Gender {
        /// Woman.
        Woman = "woman" / "Woman",
        /// Man.
        Man = "man" / "Man",
        /// Non-binary.
        NonBinary = "non_binary" / "Non-binary",
        /// Described another way.
        Other = "other" / "Other",
        /// Prefers not to say.
        PreferNotToSay = "prefer_not_to_say" / "Prefer not to say",
    }
}

vocab! {
    /// Ethnic group, the ONS 2021 census categories (England and Wales).
    Ethnicity {
        /// Asian or Asian British: Bangladeshi.
        AsianBangladeshi = "asian_bangladeshi" / "Asian: Bangladeshi",
        /// Asian or Asian British: Chinese.
        AsianChinese = "asian_chinese" / "Asian: Chinese",
        /// Asian or Asian British: Indian.
        AsianIndian = "asian_indian" / "Asian: Indian",
        /// Asian or Asian British: Pakistani.
        AsianPakistani = "asian_pakistani" / "Asian: Pakistani",
        /// Asian or Asian British: any other Asian background.
        AsianOther = "asian_other" / "Asian: other",
        /// Black, Black British, Caribbean or African: African.
        BlackAfrican = "black_african" / "Black: African",
        /// Black, Black British, Caribbean or African: Caribbean.
        BlackCaribbean = "black_caribbean" / "Black: Caribbean",
        /// Any other Black background.
        BlackOther = "black_other" / "Black: other",
        /// Mixed: White and Asian.
        MixedWhiteAsian = "mixed_white_asian" / "Mixed: White and Asian",
        /// Mixed: White and Black African.
        MixedWhiteBlackAfrican = "mixed_white_black_african" / "Mixed: White and Black African",
        /// Mixed: White and Black Caribbean.
        MixedWhiteBlackCaribbean = "mixed_white_black_caribbean" / "Mixed: White and Black Caribbean",
        /// Any other mixed background.
        MixedOther = "mixed_other" / "Mixed: other",
        /// White: English, Welsh, Scottish, Northern Irish or British.
        WhiteBritish = "white_british" / "White: British",
        /// White: Irish.
        WhiteIrish = "white_irish" / "White: Irish",
        /// White: Gypsy or Irish Traveller.
        WhiteGypsyIrishTraveller = "white_gypsy_irish_traveller" / "White: Gypsy or Irish Traveller",
        /// White: Roma.
        WhiteRoma = "white_roma" / "White: Roma",
        /// Any other White background.
        WhiteOther = "white_other" / "White: other",
        /// Other ethnic group: Arab.
        OtherArab = "other_arab" / "Other: Arab",
        /// Any other ethnic group.
        OtherAny = "other_any" / "Other: any other",
        /// Prefers not to say.
        PreferNotToSay = "prefer_not_to_say" / "Prefer not to say",
    }
}

vocab! {
    /// Religion (monitoring; ONS 2021 categories).
    Religion {
        /// No religion.
        NoReligion = "no_religion" / "No religion",
        /// Christian.
        Christian = "christian" / "Christian",
        /// Buddhist.
        Buddhist = "buddhist" / "Buddhist",
        /// Hindu.
        Hindu = "hindu" / "Hindu",
        /// Jewish.
        Jewish = "jewish" / "Jewish",
        /// Muslim.
        Muslim = "muslim" / "Muslim",
        /// Sikh.
        Sikh = "sikh" / "Sikh",
        /// Any other religion.
        Other = "other" / "Other",
        /// Prefers not to say.
        PreferNotToSay = "prefer_not_to_say" / "Prefer not to say",
    }
}

vocab! {
    /// Yes, no or prefers not to say (monitoring questions).
    YesNoPreferNot {
        /// Yes.
        Yes = "yes" / "Yes",
        /// No.
        No = "no" / "No",
        /// Prefers not to say.
        PreferNotToSay = "prefer_not_to_say" / "Prefer not to say",
    }
}

vocab! {
    /// Sexual orientation (monitoring; ONS 2021 categories).
    SexualOrientation {
        /// Straight or heterosexual.
        Straight = "straight_heterosexual" / "Straight or heterosexual",
        /// Gay or lesbian.
        GayLesbian = "gay_lesbian" / "Gay or lesbian",
        /// Bisexual.
        Bisexual = "bisexual" / "Bisexual",
        /// Another orientation.
        Other = "other" / "Other",
        /// Prefers not to say.
        PreferNotToSay = "prefer_not_to_say" / "Prefer not to say",
    }
}

vocab! {
    /// A desk user's role.
    Role {
        /// Takes reports.
        Ambassador = "ambassador" / "Ambassador",
        /// Takes reports and manages the desk.
        Coordinator = "coordinator" / "Coordinator",
    }
}

vocab! {
    /// Where a report is in its life (DESIGN.md, "Report life").
    ReportState {
        /// Being written; autosaved on every change.
        Draft = "draft" / "Draft",
        /// Validated, reference issued, in the outbox.
        Sealed = "sealed" / "Waiting to upload",
        /// The hub's receipt is stored.
        Delivered = "delivered" / "Delivered",
        /// Personal data deleted after the retention period.
        Purged = "purged" / "Purged",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip_through_json() {
        for s in Strand::ALL {
            let json = serde_json::to_string(s).expect("serialise");
            assert_eq!(json, format!("\"{}\"", s.as_str()));
            assert_eq!(Strand::from_word(s.as_str()), Some(*s));
        }
        assert_eq!(
            serde_json::from_str::<OffenderCount>("\"3+\"").expect("parse"),
            OffenderCount::ThreeOrMore
        );
        assert!(serde_json::from_str::<Strand>("\"racism\"").is_err());
    }

    #[test]
    fn the_report_format_page_lists_every_value() {
        let doc = include_str!("../../../../docs/report-format.md");
        let words: Vec<&str> = [
            ReporterRole::ALL
                .iter()
                .map(|v| v.as_str())
                .collect::<Vec<_>>(),
            Strand::ALL.iter().map(|v| v.as_str()).collect(),
            IncidentType::ALL.iter().map(|v| v.as_str()).collect(),
            Repeat::ALL.iter().map(|v| v.as_str()).collect(),
            LocationType::ALL.iter().map(|v| v.as_str()).collect(),
            OffenderCount::ALL.iter().map(|v| v.as_str()).collect(),
            YesNoUnknown::ALL.iter().map(|v| v.as_str()).collect(),
            Injury::ALL.iter().map(|v| v.as_str()).collect(),
            PassToPolice::ALL.iter().map(|v| v.as_str()).collect(),
            SupportNeed::ALL.iter().map(|v| v.as_str()).collect(),
            AgeBand::ALL.iter().map(|v| v.as_str()).collect(),
            Gender::ALL.iter().map(|v| v.as_str()).collect(),
            Ethnicity::ALL.iter().map(|v| v.as_str()).collect(),
            Religion::ALL.iter().map(|v| v.as_str()).collect(),
            YesNoPreferNot::ALL.iter().map(|v| v.as_str()).collect(),
            SexualOrientation::ALL.iter().map(|v| v.as_str()).collect(),
        ]
        .concat();
        for word in words {
            assert!(
                doc.contains(&format!("`{word}`")),
                "docs/report-format.md does not list `{word}`"
            );
        }
    }
}
