// The ECB's euro reference rates of one day, bundled so that a development stack with no way out
// to the providers still has rates to show. Stored stale (see refresh.ts, seedFromSnapshot): never
// an answer anyone should mistake for today's. Source: the ECB's eurofxref-daily.xml of the date
// below (units per 1 EUR), as the ECB published it.
export const ECB_SNAPSHOT_DATE = "2026-03-13";

export const ECB_SNAPSHOT_XML = `<?xml version="1.0" encoding="UTF-8"?>
<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01" xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">
  <gesmes:subject>Reference rates</gesmes:subject>
  <gesmes:Sender><gesmes:name>European Central Bank</gesmes:name></gesmes:Sender>
  <Cube>
    <Cube time='${ECB_SNAPSHOT_DATE}'>
      <Cube currency='USD' rate='1.1476'/>
      <Cube currency='JPY' rate='182.85'/>
      <Cube currency='CZK' rate='24.437'/>
      <Cube currency='DKK' rate='7.4726'/>
      <Cube currency='GBP' rate='0.86503'/>
      <Cube currency='HUF' rate='391.48'/>
      <Cube currency='PLN' rate='4.2675'/>
      <Cube currency='RON' rate='5.0947'/>
      <Cube currency='SEK' rate='10.7545'/>
      <Cube currency='CHF' rate='0.9034'/>
      <Cube currency='ISK' rate='144.20'/>
      <Cube currency='NOK' rate='11.1590'/>
      <Cube currency='TRY' rate='50.7122'/>
      <Cube currency='AUD' rate='1.6293'/>
      <Cube currency='BRL' rate='6.0172'/>
      <Cube currency='CAD' rate='1.5726'/>
      <Cube currency='CNY' rate='7.9145'/>
      <Cube currency='HKD' rate='8.9827'/>
      <Cube currency='IDR' rate='19395.07'/>
      <Cube currency='ILS' rate='3.5883'/>
      <Cube currency='INR' rate='106.0205'/>
      <Cube currency='KRW' rate='1711.87'/>
      <Cube currency='MXN' rate='20.4517'/>
      <Cube currency='MYR' rate='4.5198'/>
      <Cube currency='NZD' rate='1.9691'/>
      <Cube currency='PHP' rate='68.301'/>
      <Cube currency='SGD' rate='1.4685'/>
      <Cube currency='THB' rate='36.953'/>
      <Cube currency='ZAR' rate='19.2754'/>
    </Cube>
  </Cube>
</gesmes:Envelope>
`;
