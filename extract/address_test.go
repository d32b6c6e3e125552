package extract

import "testing"

func TestFindAddress(t *testing.T) {
	for _, c := range []struct {
		name, text, want string
	}{
		{"street and postcode", "KEDAI MAJU\nNO 8, JALAN MELATI 2,\n52100 KEPONG\nTEL: 03-0000 0000\n", "NO 8, JALAN MELATI 2, 52100 KEPONG"},
		{"registration number skipped", "KEDAI MAJU SDN BHD\n(123456-X)\nLOT 5, JALAN BUNGA\n40000 SHAH ALAM\n", "LOT 5, JALAN BUNGA 40000 SHAH ALAM"},
		{"stops at a tax id", "Northwind GmbH\nLange Straße 1\n12345 Musterstadt\nUSt-IdNr. DE000000000\n", "Lange Straße 1 12345 Musterstadt"},
		{"no address below the name", "Blue Kettle Cafe\nTotal   4.50\n", ""},
		{"town line with initials after the postcode", "Kedai Contoh Sdn Bhd\nNO 3, JALAN MAWAR 2,\nTAMAN INDAH, 41050\nKLANG SELANGOR D. E, MALAYSIA\nGST NO: 000000000000\n",
			"NO 3, JALAN MAWAR 2, TAMAN INDAH, 41050 KLANG SELANGOR D. E, MALAYSIA"},
		{"a long line after the postcode ends it", "Kedai Contoh Sdn Bhd\nNO 3, JALAN MAWAR 2,\n41050 KLANG\nTHANK YOU PLEASE COME AGAIN SOON\n", "NO 3, JALAN MAWAR 2, 41050 KLANG"},
		{"house numbers listed with commas", "Kedai Contoh Sdn Bhd\n789417-W\nNO.53 55,57 & 59, JALAN SAGU 18,\nTAMAN DAYA,\n81100 JOHOR BAHRU,\nDOCUMENT NO : 1\n",
			"NO.53 55,57 & 59, JALAN SAGU 18, TAMAN DAYA, 81100 JOHOR BAHRU"},
		{"a street line with a price is not an address", "Kedai Contoh\nROAD BIKE 12.50\n", ""},
		{"a plot number is no postcode", "Kedai Contoh Sdn Bhd\nLOT 12345 , JALAN MAWAR 2 ,\nTAMAN INDAH ,\n52100 KEPONG\nTEL : 03-0000 0000\n", "LOT 12345 , JALAN MAWAR 2 , TAMAN INDAH , 52100 KEPONG"},
		{"the title ends it, even glued", "Kedai Contoh Sdn Bhd\n12, JALAN MAWAR 2,\n81200 JOHOR BAHRU,JOHOR\nTAXINVOICE\n", "12, JALAN MAWAR 2, 81200 JOHOR BAHRU,JOHOR"},
		{"a company number line is not the start", "Kedai Contoh Sdn Bhd\nCOMPANY NO: 12345-W\nSITE: 1046\n176 JLN BESAR,\n57100 KUALA LUMPUR.\nTELEPHONE: 03-0000000\n", "176 JLN BESAR, 57100 KUALA LUMPUR."},
		{"a label before the address is not part of it", "Kedai Contoh Sdn Bhd\nHQ ADD: LOT 5, JALAN BUNGA\n40000 SHAH ALAM\n", "LOT 5, JALAN BUNGA 40000 SHAH ALAM"},
		{"columns closed", "ACME LTD\n1 Main Street     Springfield\n", "1 Main Street Springfield"},
		{"a branch below the name is not the address", "CHECKERS HYPERMARKET SDN BHD\n(JALAN KLANG LAMA)\nLOT 2942 & 2945, JLN SERI SENTOSA 8,\nOFF JLN KLANG LAMA,\n58000 KUALA LUMPUR.\nGST ID: 000000000000\n",
			"LOT 2942 & 2945, JLN SERI SENTOSA 8, OFF JLN KLANG LAMA, 58000 KUALA LUMPUR."},
		{"a lot number label is part of the address", "Sushi Q\nEDEN IMPRESSION SDN BHD\n(123456-D)\nLot NO:20, Level UG1, Publika Solaris\nDutamas.\nNo 1, Jalan Dutamas,50480 KL\nTel:03-00000000\n",
			"Lot NO:20, Level UG1, Publika Solaris Dutamas. No 1, Jalan Dutamas,50480 KL"},
		{"a receipt number label still ends it", "Kedai Contoh Sdn Bhd\nNO 3, JALAN MAWAR 2,\n41050 KLANG\nRECEIPT NO:1234\n", "NO 3, JALAN MAWAR 2, 41050 KLANG"},
		{"the street above a town line found first", "RELAIS TOTAL OULMES\nAUTOROUTE RABAT MEKNES\n15000 KHEMISSET\nTel.: 05.00.00.00.00\n", "AUTOROUTE RABAT MEKNES 15000 KHEMISSET"},
		{"a registration number above the town line is not the street", "KEDAI MAJU SDN BHD\n(123456-X)\n41050 KLANG\nTEL: 03-0000 0000\n", "41050 KLANG"},
		{"a lorong abbreviated", "SUNFISH\n<123456-M>\n22 LRG PERUSAHAAN 4\nKIMPAL INDS.PARK B . CAVES\nTEL : 03-00000000\nNO   10256\nTABLE   12\n",
			"22 LRG PERUSAHAAN 4 KIMPAL INDS.PARK B . CAVES"},
		{"a number in parentheses is no postcode", "TONYMOLY VIVA CITY\n(TONYMOLY SHOP (95874))\nUNIT L1-044B, VIVACITY MEGAMALL,\nJALAN WAN ALWI,\n93350 KUCHING, SARAWAK.\nGST ID : 000000000000\n",
			"UNIT L1-044B, VIVACITY MEGAMALL, JALAN WAN ALWI, 93350 KUCHING, SARAWAK."},
		{"a postcode in parentheses with a street word still starts it", "Kedai Contoh\nJALAN MAWAR (52100)\nTEL: 03-0000 0000\n", "JALAN MAWAR (52100)"},
		{"the town after a line ending with the postcode", "ENW HARDWARE CENTRE (M) SDN. BHD.\nCO. REG. NO.: 123456-A\nGST REG. NO. : 000000000000\nNO: G3, BLK G, JLN PJU 1A/3,\nARA DAMANSARA, 47301\nPETALING JAYA, SELANGOR DARUL EHSAN.\nTEL: 03-0000 0000 , 012-000 0000\n",
			"NO: G3, BLK G, JLN PJU 1A/3, ARA DAMANSARA, 47301 PETALING JAYA, SELANGOR DARUL EHSAN."},
		{"only the town after a line ending with the postcode", "Kedai Contoh Sdn Bhd\nNO 3, JALAN MAWAR 2,\nTAMAN INDAH, 41050\nKLANG, SELANGOR DARUL EHSAN.\nTHANK YOU PLEASE COME AGAIN SOON\n",
			"NO 3, JALAN MAWAR 2, TAMAN INDAH, 41050 KLANG, SELANGOR DARUL EHSAN."},
	} {
		t.Run(c.name, func(t *testing.T) {
			lines := splitLines(c.text)
			_, v, _ := findVendor(lines)
			if got := findAddress(lines, v); got != c.want {
				t.Errorf("findAddress = %q, want %q", got, c.want)
			}
		})
	}
}
