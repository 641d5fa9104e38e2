package sample

// Word lists. A few names are not ASCII, as in real exports, so UTF-8
// handling is exercised.
var (
	firstNames = []string{
		"James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David",
		"Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas",
		"Sarah", "Christopher", "Karen", "Daniel", "Lisa", "Matthew", "Nancy", "Anthony",
		"Margaret", "Mark", "Sandra", "Priya", "Wei", "Aisha", "Mateo", "Olivia", "Noah",
		"José", "Zoë", "Søren", "Chloé",
	}
	lastNames = []string{
		"Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
		"Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor",
		"Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Clark",
		"Patel", "Nguyen", "Kim", "Chen", "O'Brien", "Müller", "Nuñez", "Kowalczyk",
	}
	titles = []string{
		"VP of Sales", "Account Executive", "Sales Development Representative",
		"Director of Marketing", "Chief Revenue Officer", "Head of Growth", "Software Engineer",
		"Customer Success Manager", "Operations Manager", "Senior Product Manager",
		"Director of Revenue Operations", "Founder & CEO",
	}
	companies = []string{
		"Acme Corp", "Globex", "Initech", "Umbrella Health", "Stark Industries", "Wayne Enterprises",
		"Hooli", "Northwind Traders", "Contoso", "Tyrell Systems", "Soylent Foods", "Pied Piper",
		"Vandelay Industries", "Massive Dynamic", "Cyberdyne Analytics", "Blue Sun Logistics",
	}
	cities = [][2]string{
		{"San Francisco", "CA"}, {"New York", "NY"}, {"Austin", "TX"}, {"Seattle", "WA"},
		{"Chicago", "IL"}, {"Boston", "MA"}, {"Denver", "CO"}, {"Atlanta", "GA"},
		{"Los Angeles", "CA"}, {"Miami", "FL"}, {"Portland", "OR"}, {"Raleigh", "NC"},
	}
	sources = []string{"webinar", "trade show", "inbound", "referral", "list purchase", "partner"}
	tags    = []string{"enterprise", "smb", "priority", "q3-campaign", "churn-risk", "newsletter"}
)
