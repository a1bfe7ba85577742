"""Fictitious but plausible names for the demo data set (companies, people, places, alerts).

Every company and person here is invented; the SIRENs are generated with a valid Luhn checksum
and may coincide with a real registration by chance only.
"""

from __future__ import annotations

from typing import NamedTuple


class City(NamedTuple):
    name: str
    postcode: str
    street: str


CITIES = [
    City("Paris", "75011", "rue Oberkampf"),
    City("Lyon", "69002", "rue de la République"),
    City("Marseille", "13001", "La Canebière"),
    City("Bordeaux", "33000", "cours de l'Intendance"),
    City("Lille", "59000", "rue Nationale"),
    City("Nantes", "44000", "quai de la Fosse"),
    City("Toulouse", "31000", "rue d'Alsace-Lorraine"),
    City("Strasbourg", "67000", "rue du Vieux-Marché-aux-Poissons"),
    City("Rennes", "35000", "rue de Saint-Malo"),
    City("Nice", "06000", "avenue Jean Médecin"),
    City("Montpellier", "34000", "rue de la Loge"),
    City("Grenoble", "38000", "cours Berriat"),
]

LEGAL_FORMS = {
    "SA": "Société anonyme",
    "SAS": "Société par actions simplifiée",
    "SASU": "Société par actions simplifiée unipersonnelle",
    "SARL": "Société à responsabilité limitée",
    "EURL": "Entreprise unipersonnelle à responsabilité limitée",
    "SCI": "Société civile immobilière",
    "SELARL": "Société d'exercice libéral à responsabilité limitée",
}

# (legal name, activity)
COMPANIES = [
    ("Atelier Lumière SAS", "Conception et fabrication de luminaires"),
    ("Boulangerie Fournier SARL", "Boulangerie et pâtisserie"),
    ("Transports Girard et Fils SA", "Transports routiers de fret"),
    ("Nova Paiements SAS", "Services de paiement en ligne"),
    ("Cabinet Mercier Conseil SARL", "Conseil en gestion des entreprises"),
    ("Horizon Logistique SAS", "Entreposage et stockage"),
    ("Bleu Marine Restauration SARL", "Restauration traditionnelle"),
    ("Soleil Immobilier SCI", "Location de terrains et d'autres biens immobiliers"),
    ("Groupe Bertrand Industries SA", "Fabrication de machines industrielles"),
    ("Pixel et Code SASU", "Programmation informatique"),
    ("Les Jardins de Provence EURL", "Services d'aménagement paysager"),
    ("Métallerie Roux SARL", "Travaux de menuiserie métallique"),
    ("Alpes Énergie Solaire SAS", "Production d'électricité photovoltaïque"),
    ("Librairie du Vieux Port SARL", "Commerce de détail de livres"),
    ("Clinique Vétérinaire Saint-Martin SELARL", "Activités vétérinaires"),
    ("Garage Lefebvre Automobiles SARL", "Entretien et réparation de véhicules"),
    ("Océan Pêche Distribution SA", "Commerce de gros de poissons"),
    ("Studio Chevalier Architecture SARL", "Activités d'architecture"),
    ("Quantis Data SAS", "Traitement de données et hébergement"),
    ("Fromagerie Bonnet SAS", "Fabrication de fromage"),
    ("Éditions Lambert SA", "Édition de livres"),
    ("Brasserie Artisanale du Nord SAS", "Fabrication de bière"),
    ("Vertige Mode SASU", "Commerce de détail d'habillement"),
    ("Compagnie Fiduciaire Moulin SA", "Activités comptables"),
    ("Menuiserie Dumas et Associés SARL", "Travaux de menuiserie bois"),
]

# Other companies the managers sit in, for Manager X-Ray.
OTHER_COMPANIES = [
    "Holding Dauphiné Participations",
    "Financière des Quais SAS",
    "Immobilière Val de Loire SCI",
    "Restaurants Côte Sud SARL",
    "Nordis Import Export SAS",
    "Société Nouvelle des Ateliers Réunis",
    "Bâtiment Conseil Méditerranée SARL",
    "Agence Digitale Hexa SAS",
    "Transports Express Lorrains SARL",
    "Patrimoine et Gestion Privée SA",
    "Comptoir des Vins de Loire SARL",
    "Start Alpha Ventures SAS",
]

# (first name, last name, sex)
OFFICERS = [
    ("Philippe", "Bertrand", "M"),
    ("Isabelle", "Mercier", "F"),
    ("Olivier", "Girard", "M"),
    ("Catherine", "Roux", "F"),
    ("Stéphane", "Lefebvre", "M"),
    ("Nathalie", "Chevalier", "F"),
    ("Laurent", "Bonnet", "M"),
    ("Valérie", "Lambert", "F"),
    ("Christophe", "Moulin", "M"),
    ("Sandrine", "Dumas", "F"),
    ("Frédéric", "Fournier", "M"),
    ("Karine", "Vidal", "F"),
    ("Éric", "Morel", "M"),
    ("Sylvie", "Renaud", "F"),
    ("Pascal", "Guérin", "M"),
    ("Aurélie", "Colin", "F"),
    ("Thierry", "Masson", "M"),
    ("Delphine", "Henry", "F"),
]

# (first names, last name, sex, nationality alpha-3, birth place)
INDIVIDUALS = [
    ("Élodie", "Marchand", "F", "FRA", "Angers"),
    ("Jean-Baptiste", "Lefèvre", "M", "FRA", "Rouen"),
    ("Hélène", "Garnier", "F", "FRA", "Dijon"),
    ("François", "Dubois", "M", "FRA", "Limoges"),
    ("Chloé", "Fontaine", "F", "FRA", "Paris"),
    ("Mathieu", "Perrin", "M", "FRA", "Clermont-Ferrand"),
    ("Inès", "Benali", "F", "FRA", "Marseille"),
    ("Thomas", "Rousseau", "M", "FRA", "Tours"),
    ("Manon", "Leclerc", "F", "FRA", "Lille"),
    ("Antoine", "Faure", "M", "FRA", "Grenoble"),
    ("Léa", "Chevallier", "F", "FRA", "Brest"),
    ("Nicolas", "Blanc", "M", "FRA", "Nîmes"),
    ("Sophie Anne", "Lemoine", "F", "FRA", "Metz"),
    ("Hugo", "Barbier", "M", "FRA", "Caen"),
    ("Margaux", "d'Aubigné", "F", "FRA", "Poitiers"),
    ("Lukas", "Schäfer", "M", "DEU", "Köln"),
    ("Anna", "Müller", "F", "DEU", "München"),
    ("Giulia", "Romano", "F", "ITA", "Torino"),
    ("Marco", "Bianchi", "M", "ITA", "Milano"),
    ("Lucía", "Fernández García", "F", "ESP", "Sevilla"),
    ("Javier", "Martínez", "M", "ESP", "Valencia"),
    ("Pieter", "Janssens", "M", "BEL", "Antwerpen"),
    ("Inês", "Carvalho", "F", "PRT", "Porto"),
    ("Katarzyna", "Nowak", "F", "POL", "Kraków"),
    ("Daan", "de Vries", "M", "NLD", "Utrecht"),
]

# Printed on the identity documents, by issuing country: header, nationality, "passport".
COUNTRY_HEADERS = {
    "FRA": ("RÉPUBLIQUE FRANÇAISE", "FRANÇAISE", "PASSEPORT"),
    "DEU": ("BUNDESREPUBLIK DEUTSCHLAND", "DEUTSCH", "REISEPASS"),
    "ITA": ("REPUBBLICA ITALIANA", "ITALIANA", "PASSAPORTO"),
    "ESP": ("REINO DE ESPAÑA", "ESPAÑOLA", "PASAPORTE"),
    "BEL": ("ROYAUME DE BELGIQUE", "BELGE", "PASSEPORT"),
    "PRT": ("REPÚBLICA PORTUGUESA", "PORTUGUESA", "PASSAPORTE"),
    "POL": ("RZECZPOSPOLITA POLSKA", "POLSKIE", "PASZPORT"),
    "NLD": ("KONINKRIJK DER NEDERLANDEN", "NEDERLANDSE", "PASPOORT"),
}

# Manager X-Ray alert names as October writes them (French), with the level they usually carry.
ALERTS = [
    ("Mise en sommeil de la société", "low"),
    ("Transfert de siège social", "low"),
    ("Changement de dirigeant", "low"),
    ("Comptes annuels non déposés", "medium"),
    ("Inscription de privilège du Trésor", "medium"),
    ("Procédure de sauvegarde", "medium"),
    ("Cessation d'activité", "medium"),
    ("Redressement judiciaire", "high"),
    ("Liquidation judiciaire", "high"),
    ("Interdiction de gérer", "high"),
]

BANKS = [
    ("Banque Delta Atlantique", "30788", "BDATFRPP"),
    ("Caisse Régionale Horizon", "16807", "CRHOFR2A"),
    ("Crédit Coopératif des Rivages", "42559", "CCDRFRPP"),
]

UTILITIES = ["Électricité Verte de France", "Eaux du Grand Ouest", "Fibre Hexa Télécom"]
